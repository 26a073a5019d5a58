-- Courses: ordered lessons and assessments, enrolments with per-lesson progress, scored submissions, and the
-- certificates issued on completion. Lessons and a course's assessments share one ordering (`position`); the
-- service rewrites it under the course row's lock, so two tables need no shared unique index.
create table courses (
    id text primary key,
    instructor_id text not null,
    title text not null,
    description text not null,
    -- Title and description lowercased by the service, for text search (as trainings).
    search_text text not null,
    level text not null,
    category text not null,
    -- In the currency's minor units (cents); 0 is free, and then `currency` is empty.
    price_minor bigint not null,
    currency text not null,
    duration_minutes integer not null,
    -- Inactive courses take no enrolments and show to their instructor and administrators only.
    active integer not null,
    enrolled_count bigint not null default 0,
    created_at text not null,
    updated_at text not null
);
create index courses_instructor on courses (instructor_id, id);

create table lessons (
    id text primary key,
    course_id text not null references courses (id) on delete cascade,
    position integer not null,
    title text not null,
    content text not null,
    media text not null,
    duration_minutes integer not null,
    created_at text not null,
    updated_at text not null
);
create index lessons_course on lessons (course_id, position);

-- An assessment belongs to a course (a step of it) or stands alone (`course_id` and `position` null). Its
-- questions, with their ids and correct answers, are one JSON array: they are always read and scored together.
create table assessments (
    id text primary key,
    course_id text references courses (id) on delete cascade,
    position integer,
    author_id text not null,
    title text not null,
    description text not null,
    category text not null,
    difficulty text not null,
    duration_minutes integer not null,
    pass_mark integer not null,
    questions text not null,
    -- Attempts ever made (a forgotten member's included): the questions are frozen from the first one.
    submission_count bigint not null default 0,
    created_at text not null,
    updated_at text not null
);
create index assessments_course on assessments (course_id, position);
create index assessments_author on assessments (author_id, id);

create table enrolments (
    course_id text not null references courses (id) on delete cascade,
    user_id text not null,
    -- The name printed on the certificate, when the member chose one.
    certificate_name text,
    enrolled_at text not null,
    completed_at text,
    certificate_id text,
    primary key (course_id, user_id)
);
create index enrolments_user on enrolments (user_id, course_id);

create table lesson_progress (
    lesson_id text not null references lessons (id) on delete cascade,
    course_id text not null,
    user_id text not null,
    completed_at text not null,
    primary key (lesson_id, user_id)
);
create index lesson_progress_member on lesson_progress (course_id, user_id);

-- Every attempt is kept (attempts are unlimited); `score` and `total` are points.
create table submissions (
    id text primary key,
    assessment_id text not null references assessments (id) on delete cascade,
    user_id text not null,
    answers text not null,
    score integer not null,
    total integer not null,
    passed integer not null,
    submitted_at text not null
);
create index submissions_assessment on submissions (assessment_id, id);
create index submissions_member on submissions (user_id, assessment_id, passed);

-- Certificates outlive their course: what they certify is copied in, so a deleted or renamed course leaves every
-- issued certificate verifiable as it was issued.
create table certificates (
    id text primary key,
    course_id text not null,
    user_id text not null,
    holder_name text not null,
    course_title text not null,
    instructor_id text not null,
    issued_at text not null
);
create index certificates_member on certificates (user_id, id);

-- Members' names as they registered, for certificates whose holder chose no name of their own.
create table members (
    user_id text primary key,
    name text not null
);
