"""The Facebook Page platform: comments on the Page's posts and mentions of the Page."""
