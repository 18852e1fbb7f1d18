ALTER TABLE region_policies DROP COLUMN photo_required_for;
DROP TABLE photos;
