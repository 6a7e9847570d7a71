-- A trigram index for the admin user list's free-text search (issue 22). The search is a
-- case-insensitive substring match on username or e-mail; without an index every search read
-- every user. `users_search` is an FTS5 table over `users` (external content: it stores only the
-- index, the text stays in `users`), kept in step by the triggers below, including deletes made
-- by a server's ON DELETE CASCADE. A search of three or more characters asks it for candidates
-- (`db::users::list`); shorter ones, which a trigram index cannot answer, still scan.
CREATE VIRTUAL TABLE users_search USING fts5(
    username, email, content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO users_search(users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search(rowid, username, email) VALUES (new.id, new.username, new.email);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search(users_search, rowid, username, email)
    VALUES ('delete', old.id, old.username, old.email);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF username, email ON users BEGIN
    INSERT INTO users_search(users_search, rowid, username, email)
    VALUES ('delete', old.id, old.username, old.email);
    INSERT INTO users_search(rowid, username, email) VALUES (new.id, new.username, new.email);
END;
