# Admin pages: ops
