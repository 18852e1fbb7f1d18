DROP TABLE household_visits;
