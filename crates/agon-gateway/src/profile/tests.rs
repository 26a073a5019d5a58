//! Loading profiles: each operation's fields parse, and a broken file names its line or its route.

use super::*;

fn err(text: &str) -> String {
    Profile::parse("t", text).unwrap_err()
}

#[test]
fn forwarding_reshaping_and_answering_routes_load() {
    let profile = Profile::parse(
        "t",
        r#"
        description = "test"
        settings = { ADMIN_EMAIL = "auth.admin_email" }
        [errors]
        body = { detail = "{error.message}" }
        messages = { email_taken = "Email already registered" }
        status = { email_taken = 409 }

        [[routes]]
        prefix = "/api/v1/users"
        rewrite = "/users"
        upstream = "users"

        [[routes]]
        method = "POST"
        path = "/api/auth/login"
        slash = "redirect"
        [[routes.calls]]
        to = "POST /auth/token"
        body = { grant_type = "password", email = "{body.email}", password = "{body.password}" }
        [routes.response]
        body = { access_token = "{response.access_token}" }

        [[routes]]
        method = "PATCH"
        path = "/api/users/approve"
        [[routes.calls]]
        to = "POST /users/{body.user_id}/approve"
        [routes.status]
        204 = 200
        not_found = 404

        [[routes]]
        method = "GET"
        path = "/health"
        answer = { body = { status = "ok" } }
        "#,
    )
    .unwrap();
    assert_eq!(profile.settings["ADMIN_EMAIL"], "auth.admin_email");
    // The redirect route adds the other slash form.
    assert_eq!(profile.routes.len(), 5);
    assert!(matches!(profile.routes[0], ProfileRoute::Forward(_)));
    let ProfileRoute::Shaped { shaped, .. } = &profile.routes[3] else {
        panic!("shaped")
    };
    assert_eq!(shaped.status["204"], 200);
    assert_eq!(
        shaped.status["email_taken"], 409,
        "the profile's status map is inherited"
    );
    assert_eq!(
        shaped.messages["email_taken"],
        template::Template::Const(serde_json::json!("Email already registered"))
    );
    assert_eq!(shaped.describe(), "calls POST /users/x/approve");
    let ProfileRoute::Shaped {
        matcher, shaped, ..
    } = &profile.routes[2]
    else {
        panic!("redirect")
    };
    assert_eq!(matcher.describe(), "/api/auth/login/");
    assert_eq!(shaped.answer.as_ref().map(|a| a.status), Some(308));
}

#[test]
fn an_unknown_key_names_its_line() {
    let e = err("description = \"x\"\n[[routes]]\npath = \"/a\"\ncal = \"GET /b\"\n");
    assert!(
        e.contains("line 4") && e.contains("unknown field `cal`"),
        "{e}"
    );
}

#[test]
fn a_bad_route_names_the_route_and_the_reason() {
    let base = "description = \"x\"\n[[routes]]\nmethod = \"GET\"\npath = \"/a/{id}\"\n";
    let e = err(&format!("{base}call = \"GET /b/{{path.user}}\"\n"));
    assert!(
        e.starts_with(
            "route #1 (GET /a/{id}): call #1: to: {path.user}: the route's path has no {user}"
        ),
        "{e}"
    );
    let e = err(&format!(
        "{base}call = \"GET /b\"\n[routes.response]\nbody = \"{{error.code}}\"\n"
    ));
    assert!(e.contains("response: {error} is not known here"), "{e}");
    let e = err(&format!(
        "{base}[[routes.calls]]\nto = \"GET /b\"\nbody = \"{{steps.0.id}}\"\n"
    ));
    assert!(e.contains("call #1: body: {steps.N…}"), "{e}");
    let e = err(&format!(
        "{base}call = \"GET /b\"\n[[routes.checks]]\nafter = 2\nvalue = \"{{body.x}}\"\nstatus = 400\ncode = \"c\"\nmessage = \"m\"\n"
    ));
    assert!(
        e.contains("check #1: after = 2, but the route makes 1 calls"),
        "{e}"
    );
    let e = err(&format!(
        "{base}[[routes.calls]]\nto = \"GET /b\"\nwhen = \"{{steps.0.x}}\"\n"
    ));
    assert!(e.contains("call #1: when: {steps.N…}"), "{e}");
    let e = err(&format!("{base}call = \"/b\"\n"));
    assert!(e.contains("is `METHOD /path`"), "{e}");
    let e = err(&format!("{base}call = \"GET /b?x=1\"\n"));
    assert!(e.contains("has no query"), "{e}");
    let e = err(&format!(
        "{base}call = \"GET /b\"\nstatus = {{ \"201\" = 1000 }}\n"
    ));
    assert!(e.contains("1000 is not an HTTP status"), "{e}");
    let e = err(&format!(
        "{base}call = \"GET /b\"\nanswer = {{ text = \"x\" }}\n"
    ));
    assert!(e.contains("makes no calls"), "{e}");
    let e = err(base);
    assert!(e.contains("needs `upstream`"), "{e}");
    let e = err(&format!(
        "{base}answer = {{ text = \"x\" }}\nstatus = {{ \"200\" = 201 }}\n"
    ));
    assert!(e.contains("is its answer"), "{e}");
    let e =
        err("description = \"x\"\n[[routes]]\nprefix = \"/\"\nfiles = true\nauth = \"admin\"\n");
    assert!(e.contains("public files only"), "{e}");
    let e = err("description = \"x\"\n[[routes]]\nprefix = \"/a\"\ncall = \"GET /b\"\n");
    assert!(e.contains("takes a `path`"), "{e}");
    let e = err(
        "description = \"x\"\n[[routes]]\npath = \"/a\"\nupstream = \"users\"\ncall = \"GET /b\"\n",
    );
    assert!(e.contains("forwarding route"), "{e}");
    let e = err("description = \"x\"\n[errors]\ntext = \"{body.x}\"\nbody = {}\n");
    assert!(e.contains("not both"), "{e}");
}

#[test]
fn routes_name_a_shared_error_shape() {
    let base = "description = \"x\"\n[error_shapes.fastapi]\nbody = { detail = \"{error.message}\" }\n\
                [[routes]]\nmethod = \"GET\"\npath = \"/a\"\ncall = \"GET /b\"\n";
    let profile = Profile::parse("t", &format!("{base}error_shape = \"fastapi\"\n")).unwrap();
    let ProfileRoute::Shaped { shaped, .. } = &profile.routes[0] else {
        panic!("shaped")
    };
    assert!(shaped.errors.body.is_some());
    let e = err(&format!("{base}error_shape = \"nest\"\n"));
    assert!(
        e.contains("error_shape: the profile has no [error_shapes.nest]"),
        "{e}"
    );
    let e = err(&format!(
        "{base}error_shape = \"fastapi\"\n[routes.errors]\ntext = \"x\"\n"
    ));
    assert!(
        e.contains("give `errors` or `error_shape`, not both"),
        "{e}"
    );
}

#[test]
fn uploads_and_constant_json_answers_are_checked_at_load() {
    let base = "description = \"x\"\n[[routes]]\nmethod = \"POST\"\npath = \"/a\"\n";
    let call = "[[routes.calls]]\nto = \"POST /auth/verification\"\nfile = \"photo\"\n";
    let profile = Profile::parse("t", &format!("{base}max_body = 5_000_000\n{call}")).unwrap();
    let ProfileRoute::Shaped { shaped, .. } = &profile.routes[0] else {
        panic!("shaped")
    };
    assert_eq!(shaped.max_body, 5_000_000);
    assert_eq!(shaped.calls[0].file.as_deref(), Some("photo"));
    let e = err(&format!("{base}{call}body = {{}}\n"));
    assert!(e.contains("call #1: give `body` or `file`"), "{e}");
    let e = err(&format!("{base}max_body = 9_000_000\n{call}"));
    assert!(e.contains("max_body: from 1 to 8388608 bytes"), "{e}");
    let e = err(&format!("{base}{call}[routes.response]\njson = \"nul\"\n"));
    assert!(e.contains("response: json: not a JSON document"), "{e}");
    let e = err(&format!(
        "{base}{call}[routes.response]\njson = \"null\"\nempty = true\n"
    ));
    assert!(
        e.contains("give one of `body`, `json`, `text` and `empty`"),
        "{e}"
    );
    let profile = Profile::parse(
        "t",
        &format!("{base}{call}[routes.response]\njson = \"null\"\n"),
    );
    let ProfileRoute::Shaped { shaped, .. } = &profile.unwrap().routes[0] else {
        panic!("shaped")
    };
    assert_eq!(shaped.response.json, Some(Value::Null));
}

#[test]
fn the_document_is_derived_from_the_routes() {
    let profile = Profile::parse(
        "t",
        r#"
        description = "x"
        [errors]
        text = "{error.message}"
        [[routes]]
        method = "POST"
        path = "/api/items/{id}/buy"
        slash = "redirect"
        [[routes.calls]]
        to = "POST /auth/token"
        body = { email = "{body.email}", n = "{body.count|int}", id = "{path.id}" }
        [routes.response]
        body = { ok = true, items = { each = "{response.items}", map = { id = "{item.id}" } } }
        [routes.status]
        "200" = 201
        [[routes]]
        method = "GET"
        path = "/health"
        answer = { text = "alive" }
        "#,
    )
    .unwrap();
    let paths = profile.openapi_paths();
    let buy = &paths["/api/items/{id}/buy"]["post"];
    assert_eq!(buy["parameters"][0]["name"], "id");
    let fields = &buy["requestBody"]["content"]["application/json"]["schema"]["properties"];
    assert_eq!(
        fields.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["count", "email"]
    );
    let ok = &buy["responses"]["201"]["content"]["application/json"]["schema"];
    assert_eq!(ok["properties"]["ok"]["example"], true);
    assert_eq!(ok["properties"]["items"]["type"], "array");
    assert!(buy["responses"]["default"]["content"]["text/plain"].is_object());
    assert!(
        paths.get("/api/items/{id}/buy/").is_none(),
        "the redirecting form is not documented"
    );
    assert!(paths["/health"]["get"]["responses"]["200"]["content"]["text/plain"].is_object());
}

#[test]
fn every_shipped_profile_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let profile = Profile::load(&name, &path).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(!profile.routes.is_empty(), "{name}");
            names.push(name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "apigw",
            "example",
            "gymit",
            "kinetix",
            "little-ecom",
            "weace"
        ]
    );
}

#[test]
fn a_shape_does_not_name_another_whatever_their_order() {
    // `b` sorts after `a`: compiled in order, `a` would already be known to `b`.
    let text = r#"
        description = "test"
        [shapes]
        a = { name = "{item.name}" }
        b = { inner = "{item.inner|shape:a}" }
    "#;
    let e = err(text);
    assert!(e.contains("[shapes] b") && e.contains("no shape"), "{e}");
}
