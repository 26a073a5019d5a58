use super::*;

fn plan(zone: &str, session_minutes: i64, rules: &[(i8, &str, &str)]) -> Plan {
    let rules: Vec<Rule> = (rules.iter())
        .map(|&(weekday, start, end)| Rule {
            weekday,
            start: start.into(),
            end: end.into(),
        })
        .collect();
    Plan {
        zone: TimeZone::get(zone).unwrap_or_else(|e| panic!("{e}")),
        session_minutes,
        windows: check_rules(&rules).unwrap_or_else(|e| panic!("{e:?}")),
        exceptions: Vec::new(),
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn a_window_across_spring_forward_is_as_long_as_it_really_is() {
    // Sunday 2027-03-14, New York: 02:00 does not happen; 01:00–04:00 local is two real hours.
    let p = plan("America/New_York", 60, &[(7, "01:00", "04:00")]);
    let got = slots(
        &p,
        (at("2027-03-14T00:00:00Z"), at("2027-03-15T00:00:00Z")),
        &[],
    );
    assert_eq!(
        got,
        vec![
            (at("2027-03-14T06:00:00Z"), at("2027-03-14T07:00:00Z")),
            (at("2027-03-14T07:00:00Z"), at("2027-03-14T08:00:00Z")),
        ]
    );
}

#[test]
fn busy_time_and_time_off_leave_no_slot() {
    let mut p = plan("Asia/Kathmandu", 30, &[(1, "09:00", "11:00")]);
    // Monday 2027-01-04, 09:00 in Kathmandu (+05:45) is 03:15Z.
    let day = (at("2027-01-04T00:00:00Z"), at("2027-01-05T00:00:00Z"));
    assert_eq!(slots(&p, day, &[]).len(), 4);
    let busy = [(at("2027-01-04T03:45:00Z"), at("2027-01-04T04:15:00Z"))];
    let free = slots(&p, day, &busy);
    assert_eq!(free.len(), 3);
    assert!(!free.iter().any(|s| s.0 == at("2027-01-04T03:45:00Z")));
    let off = ExceptionDraft {
        date: "2027-01-04".into(),
        kind: "off".into(),
        start: None,
        end: None,
        reason: String::new(),
    };
    p.exceptions
        .push(check_exception(&off).unwrap_or_else(|e| panic!("{e:?}")));
    assert!(slots(&p, day, &[]).is_empty());
}

#[test]
fn times_of_day_are_checked() {
    assert_eq!(minutes_of("09:30"), Ok(570));
    assert_eq!(minutes_of("24:00"), Ok(1440));
    assert!(minutes_of("24:05").is_err());
    assert!(minutes_of("9:30").is_err());
    assert!(minutes_of("09:32").is_err());
    assert!(
        check_rules(&[Rule {
            weekday: 8,
            start: "09:00".into(),
            end: "10:00".into()
        }])
        .is_err()
    );
    assert!(
        check_rules(&[Rule {
            weekday: 1,
            start: "10:00".into(),
            end: "10:00".into()
        }])
        .is_err()
    );
}

#[test]
fn overlapping_bookings_share_a_cell_and_adjacent_ones_do_not() {
    let a = cells((at("2027-01-04T09:00:00Z"), at("2027-01-04T10:00:00Z")));
    let b = cells((at("2027-01-04T10:00:00Z"), at("2027-01-04T10:30:00Z")));
    let c = cells((at("2027-01-04T09:55:00Z"), at("2027-01-04T10:30:00Z")));
    assert_eq!(a.clone().count(), 12);
    assert_eq!(a.end, b.start);
    assert!(c.start < a.end);
}
