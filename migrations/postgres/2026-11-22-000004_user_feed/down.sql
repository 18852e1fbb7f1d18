DROP TABLE user_feed;
