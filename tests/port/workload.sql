CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, blob BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, x % 101, 'name' || (x * 7919 % 100003), zeroblob(x % 300) FROM c;
CREATE INDEX t_grp ON t(grp, name);
DELETE FROM t WHERE id % 7 = 0;
UPDATE t SET name = name || '-' || grp WHERE grp % 3 = 0;
SELECT count(*), sum(length(name)), sum(length(blob)), max(name) FROM t;
SELECT grp, count(*), min(name) FROM t GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 3;
