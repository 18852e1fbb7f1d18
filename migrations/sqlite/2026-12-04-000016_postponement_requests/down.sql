DROP TABLE postponement_requests;
