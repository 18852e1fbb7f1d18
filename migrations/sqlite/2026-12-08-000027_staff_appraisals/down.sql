DROP TABLE staff_appraisals;
