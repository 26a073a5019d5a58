-- An author's trainings newest first (`author=me`, an author's page) without reading every training.
create index trainings_author on trainings (author_id, id);
