DROP TABLE region_policies;
