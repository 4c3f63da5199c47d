import hashlib, json
d = {}
for i in range(100000):
    k = "key%07d" % ((i * 7919) % 100003)
    d[k] = [i, str(i * 31), {"n": i % 97, "s": "x" * (i % 13)}]
items = sorted(d.items(), key=lambda kv: (kv[1][2]["n"], kv[0]))
h = hashlib.sha256()
for k, v in items[::7]:
    h.update(json.dumps([k, v], sort_keys=True).encode())
big = [bytes(range(256)) * (i % 50 + 1) for i in range(3000)]
h.update(b"".join(big[::11]))
print(len(d), h.hexdigest())
