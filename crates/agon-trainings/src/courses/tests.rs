use super::*;

fn question(kind: &str, options: &[&str], correct: &str, points: i64) -> QuestionDraft {
    QuestionDraft {
        question: "Which?".into(),
        kind: kind.into(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        correct_answer: correct.into(),
        points: Some(points),
    }
}

fn assessment(questions: Vec<QuestionDraft>, pass_mark: Option<i64>) -> AssessmentInput {
    AssessmentInput {
        course_id: None,
        title: " Warm-up quiz ".into(),
        description: String::new(),
        category: None,
        difficulty: None,
        duration_minutes: None,
        pass_mark,
        questions,
    }
}

fn fields(problems: Vec<FieldError>) -> Vec<String> {
    problems.into_iter().map(|p| p.field).collect()
}

#[test]
fn an_assessment_gets_defaults_and_question_ids() {
    let a = check_assessment(assessment(
        vec![
            question("multiple_choice", &["a", "b"], "b", 2),
            question("true_false", &[], " TRUE ", 1),
        ],
        None,
    ))
    .unwrap();
    assert_eq!(a.title, "Warm-up quiz");
    assert_eq!((a.pass_mark, a.duration_minutes), (70, 30));
    assert_eq!(
        (a.category.as_str(), a.difficulty.as_str()),
        ("other", "beginner")
    );
    assert_eq!(a.questions[1].correct_answer, "true");
    assert_ne!(a.questions[0].id, a.questions[1].id);
}

#[test]
fn every_bad_question_is_reported() {
    let problems = check_assessment(assessment(
        vec![
            question("multiple_choice", &["a", "a"], "a", 1),
            question("multiple_choice", &["a", "b"], "c", 1),
            question("true_false", &[], "maybe", 1),
            question("text", &["x", "y"], "answer", 0),
            question("essay", &[], "x", 1),
        ],
        Some(101),
    ))
    .unwrap_err();
    assert_eq!(
        fields(problems),
        [
            "pass_mark",
            "questions.0.options",
            "questions.1.correct_answer",
            "questions.2.correct_answer",
            "questions.3.options",
            "questions.3.points",
            "questions.4.type",
        ]
    );
    let empty = check_assessment(assessment(Vec::new(), None)).unwrap_err();
    assert_eq!(fields(empty), ["questions"]);
}

fn scored(answers: &[(usize, &str)], pass_mark: i64) -> Outcome {
    let a = check_assessment(assessment(
        vec![
            question("multiple_choice", &["Squat", "Lunge"], "Squat", 4),
            question("true_false", &[], "false", 3),
            question("text", &[], "Heart  Rate", 3),
        ],
        Some(pass_mark),
    ))
    .unwrap();
    let answers = answers
        .iter()
        .map(|(i, text)| (a.questions[*i].id, (*text).to_owned()))
        .collect();
    score(&a.questions, &answers, a.pass_mark)
}

#[test]
fn scoring_weighs_points_and_compares_each_kind_its_way() {
    let all = scored(&[(0, "Squat"), (1, "False"), (2, "  heart rate ")], 70);
    assert_eq!((all.score, all.total, all.passed), (10, 10, true));
    // Multiple choice is exact: another case is another option.
    let wrong_case = scored(&[(0, "squat"), (1, "false"), (2, "heart rate")], 70);
    assert_eq!(wrong_case.score, 6);
    assert!(!wrong_case.passed);
    let none = scored(&[], 0);
    assert_eq!((none.score, none.passed), (0, true));
}

#[test]
fn the_pass_mark_is_inclusive_and_exact() {
    // 7 of 10 points is exactly 70 %.
    let seven = scored(&[(0, "Squat"), (1, "false")], 70);
    assert_eq!((seven.score, seven.passed), (7, true));
    assert!(!scored(&[(0, "Squat"), (1, "false")], 71).passed);
    assert!((seven.percentage() - 70.0).abs() < f64::EPSILON);
    assert!((percentage(2, 3) - 66.66).abs() < 1e-9);
}

#[test]
fn answers_to_unknown_questions_are_refused() {
    let a = check_assessment(assessment(vec![question("text", &[], "x", 1)], None)).unwrap();
    let stranger = Uuid::new_v4();
    let answers = HashMap::from([(stranger, "x".to_owned())]);
    let problems = check_answers(&a.questions, &answers).unwrap_err();
    assert_eq!(fields(problems), [format!("answers.{stranger}")]);
    let long = HashMap::from([(a.questions[0].id, "x".repeat(1001))]);
    assert!(check_answers(&a.questions, &long).is_err());
}

#[test]
fn a_course_is_complete_when_every_step_is_done() {
    let standing = |lessons, lessons_done, assessments, assessments_passed| Standing {
        lessons,
        lessons_done,
        assessments,
        assessments_passed,
    };
    assert!(standing(2, 2, 1, 1).complete());
    assert!(standing(0, 0, 1, 1).complete());
    assert!(!standing(2, 1, 1, 1).complete());
    assert!(!standing(2, 2, 1, 0).complete());
    assert!(
        !standing(0, 0, 0, 0).complete(),
        "an empty course is never complete"
    );
}

fn course(price_minor: i64, currency: &str) -> CourseDraft {
    CourseDraft {
        title: "Running 101".into(),
        description: String::new(),
        level: "Beginner".into(),
        category: "fitness".into(),
        price_minor,
        currency: currency.into(),
        duration_minutes: 600,
        active: true,
    }
}

#[test]
fn a_priced_course_needs_a_currency_and_a_free_one_keeps_none() {
    let free = check_course(course(0, "eur")).unwrap();
    assert_eq!(
        (free.currency.as_str(), free.level.as_str()),
        ("", "beginner")
    );
    assert_eq!(check_course(course(1999, " eur ")).unwrap().currency, "EUR");
    assert_eq!(
        fields(check_course(course(1999, "")).unwrap_err()),
        ["currency"]
    );
    assert_eq!(
        fields(check_course(course(-1, "EUR")).unwrap_err()),
        ["price_minor"]
    );
    let edited = free
        .edited(CourseEdit {
            level: Some("expert".into()),
            ..CourseEdit::default()
        })
        .unwrap_err();
    assert_eq!(fields(edited), ["level"]);
}
