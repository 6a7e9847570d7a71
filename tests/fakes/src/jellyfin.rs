//! jellyfin fake (in progress).
