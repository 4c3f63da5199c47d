-- The workload behind docs/img/sqlite-*.svg: build a table and an index,
-- query, delete a third of the rows, vacuum (sqlite3 :memory: < this file).
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, substr(hex(x * 2654435761) || hex(x * 40503), 1, 2 + x % 30), x * 0.5 FROM c;
CREATE INDEX tn ON t(name);
SELECT count(*), sum(length(name)) FROM t WHERE name LIKE 'A%';
SELECT substr(name, 1, 2), count(*) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 3;
DELETE FROM t WHERE id % 3 = 0;
VACUUM;
