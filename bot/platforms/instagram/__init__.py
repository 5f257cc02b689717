"""The Instagram professional account platform: comments on its media and @mentions."""
