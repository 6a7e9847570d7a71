# Admin pages: account
