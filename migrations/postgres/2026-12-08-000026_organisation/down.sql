DROP TABLE unit_figures;
DROP TABLE unit_members;
DROP TABLE org_units;
