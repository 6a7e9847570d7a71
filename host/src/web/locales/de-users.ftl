# Admin pages: users
