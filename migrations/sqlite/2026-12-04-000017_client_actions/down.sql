DROP TABLE client_actions;
