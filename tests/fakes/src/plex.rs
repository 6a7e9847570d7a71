//! plex fake (in progress).
