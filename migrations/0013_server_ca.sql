-- A private CA per media server (issue 17 item 11): PEM text of one or more CA certificates that
-- the plugin host's HTTP client trusts for the server's own origin, in addition to the public
-- roots. NULL: the public roots only. Public data (certificates), so not sealed.
ALTER TABLE servers ADD COLUMN ca_certificate TEXT;
