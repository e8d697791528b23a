-- PostgreSQL only: SQLite takes no row locks, so its foreign keys cost nothing on hot rows.
SELECT 1;
