-- PostgreSQL only: SQLite payments run as one locked transaction and need no abort function.
SELECT 1;
