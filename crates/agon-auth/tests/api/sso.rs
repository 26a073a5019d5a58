//! Single sign-on against a real OpenID provider (npm's oidc-provider) on loopback, driven like a browser.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use agon_testkit::{TestApp, assert_problem, json};
use serde_json::Value;

/// The provider process, and its issuer URL; stopped with the test.
struct Idp(Child, String);

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The platform with an `idp` provider configured, and that provider running.
async fn app_with_idp() -> (TestApp, Idp) {
    idp_app("idp", |_| {}).await
}

/// The platform with the provider configured as `name`, after `adjust`.
async fn idp_app(name: &str, adjust: impl FnOnce(&mut agon_testkit::Config)) -> (TestApp, Idp) {
    let mut idp = None;
    let app = TestApp::spawn_with(|c| {
        adjust(c);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let callback = format!("{}/auth/sso/{name}/callback", c.auth.public_url);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/idp");
        let child = Command::new("node")
            .arg(format!("{dir}/idp.mjs"))
            .arg(port.to_string())
            .arg(&callback)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node (scripts/test installs the provider's packages)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the OpenID provider did not start: run npm ci in {dir}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let issuer = format!("http://127.0.0.1:{port}");
        idp = Some(Idp(child, issuer.clone()));
        c.auth.sso = vec![agon_auth::SsoProvider {
            name: name.into(),
            issuer,
            client_id: "agon".into(),
            client_secret: Some("agon-secret".into()),
        }];
        c.auth.sso_redirects = vec!["https://app.club.example/".into()];
    })
    .await;
    (app, idp.expect("provider started"))
}

/// A browser: keeps cookies, follows redirects, submits the provider's login and consent forms as `login`.
async fn sign_in(app: &TestApp, login: &str, query: &str) -> reqwest::Response {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let first = browser
        .get(app.url(&format!("/auth/sso/idp/login{query}")))
        .send()
        .await
        .unwrap();
    through_forms(&browser, first, login).await
}

/// Submits the provider's forms until an answer is not a form page; returns that answer.
async fn through_forms(
    browser: &reqwest::Client,
    mut response: reqwest::Response,
    login: &str,
) -> reqwest::Response {
    let form_re = regex::Regex::new(r#"<form[^>]*action="([^"]+)""#).unwrap();
    let hidden_re =
        regex::Regex::new(r#"<input type="hidden" name="([^"]+)" value="([^"]*)""#).unwrap();
    for _ in 0..4 {
        let is_html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        // A redirect the browser was told not to follow is an answer too (with an HTML body, at the provider).
        if !is_html || response.status().is_redirection() {
            return response;
        }
        let page = response.text().await.unwrap();
        let Some(action) = form_re.captures(&page) else {
            panic!("a form: {page}");
        };
        let action = action[1].to_owned();
        let mut form = form_urlencoded::Serializer::new(String::new());
        for hidden in hidden_re.captures_iter(&page) {
            form.append_pair(&hidden[1], &hidden[2]);
        }
        if page.contains(r#"name="login""#) {
            form.append_pair("login", login)
                .append_pair("password", "anything");
        }
        response = browser
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await
            .unwrap();
    }
    panic!("the provider kept showing forms");
}

#[tokio::test]
async fn a_provider_login_creates_links_and_reuses_an_account() {
    let (app, _idp) = app_with_idp().await;
    let response = sign_in(&app, "alice", "").await;
    assert_eq!(response.status(), 200, "callback answers tokens");
    let tokens: Value = response.json().await.unwrap();
    let first = agon_testkit::claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(first["roles"], json!(["athlete"]));
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    app.until(|| async {
        app.with_token(&access)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    let me: Value = app
        .with_token(&access)
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "alice@idp.test");
    assert_eq!(me["display_name"], "alice from the provider");
    // The refresh token is Agon's own, and works.
    let refresh = app.post_json(
        "/auth/token",
        json!({ "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"] }),
    );
    assert_eq!(refresh.send().await.unwrap().status(), 200);

    // The same provider subject logs into the same account.
    let again: Value = sign_in(&app, "alice", "").await.json().await.unwrap();
    assert_eq!(
        agon_testkit::claims(again["access_token"].as_str().unwrap())["sub"],
        first["sub"]
    );
}

#[tokio::test]
async fn existing_accounts_are_linked_only_on_a_verified_email() {
    let (app, _idp) = app_with_idp().await;
    let verified = app.register("carol@idp.test").await;
    let tokens: Value = sign_in(&app, "carol", "").await.json().await.unwrap();
    assert_eq!(
        agon_testkit::claims(tokens["access_token"].as_str().unwrap())["sub"],
        verified.id.to_string()
    );

    // An address the provider did not verify cannot take over the account that owns it.
    app.register("unverified@idp.test").await;
    assert_problem(sign_in(&app, "unverified", "").await, 400, "sso_failed").await;
    assert_problem(sign_in(&app, "nomail", "").await, 400, "sso_failed").await;
}

#[tokio::test]
async fn bans_apply_to_provider_logins_too() {
    let (app, _idp) = app_with_idp().await;
    let admin = app.admin().await;
    let tokens: Value = sign_in(&app, "dave", "").await.json().await.unwrap();
    let id = agon_testkit::claims(tokens["access_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    app.until(|| async {
        app.as_user(&admin)
            .post_json(&format!("/users/{id}/ban"), json!({}))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    app.until(|| async { sign_in(&app, "dave", "").await.status() == 403 })
        .await;
    assert_problem(sign_in(&app, "dave", "").await, 403, "account_banned").await;
}

#[tokio::test]
async fn redirects_states_and_logout() {
    let (app, _idp) = app_with_idp().await;
    // A login page lists the providers: where each login starts and the provider's own logout page.
    let listed: Value = app
        .get("/auth/sso")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let idp = &listed["items"][0];
    assert_eq!(idp["name"], "idp");
    assert!(
        idp["login_url"]
            .as_str()
            .unwrap()
            .ends_with("/auth/sso/idp/login"),
        "{listed}"
    );
    assert!(
        idp["logout_url"]
            .as_str()
            .unwrap()
            .contains("/session/end?client_id=agon"),
        "{listed}"
    );
    // Back to an allowed application URL with the tokens in the fragment.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = browser
        .get(app.url("/auth/sso/idp/login?return_to=https://evil.example/"))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 422, "invalid_body").await;
    let unknown = browser
        .get(app.url("/auth/sso/nope/login"))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "unknown_provider").await;
    let forged = browser
        .get(app.url("/auth/sso/idp/callback?code=x&state=forged"))
        .send()
        .await
        .unwrap();
    assert_problem(forged, 400, "sso_failed").await;

    let landing =
        sign_in_until_app(&app, "erin", "?return_to=https://app.club.example/welcome").await;
    assert!(
        landing.starts_with("https://app.club.example/welcome#access_token="),
        "{landing}"
    );
    let access = landing
        .split("access_token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let logout: Value = app
        .with_token(&access)
        .post_json("/auth/sso/idp/logout", json!(null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        logout["logout_url"]
            .as_str()
            .unwrap()
            .contains("/session/end?client_id=agon"),
        "{logout}"
    );
    assert_problem(
        app.with_token(&access)
            .get("/users/me")
            .send()
            .await
            .unwrap(),
        401,
        "session_revoked",
    )
    .await;
}

/// Like `sign_in`, but stops at the redirect that leaves for the application and returns its location.
async fn sign_in_until_app(app: &TestApp, login: &str, query: &str) -> String {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt
                .url()
                .as_str()
                .starts_with("https://app.club.example/")
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()
        .unwrap();
    let first = browser
        .get(app.url(&format!("/auth/sso/idp/login{query}")))
        .send()
        .await
        .unwrap();
    let last = through_forms(&browser, first, login).await;
    last.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_provider_login_does_not_skip_the_members_second_factor() {
    let (app, _idp) = app_with_idp().await;
    let tokens: Value = sign_in(&app, "fay", "").await.json().await.unwrap();
    let me = app.with_token(tokens["access_token"].as_str().unwrap());
    let enrolment: Value = me
        .post_json("/auth/mfa/totp", json!(null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = totp_rs::Secret::try_from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    me.post_json(
        "/auth/mfa/totp/confirm",
        json!({ "code": totp.generate(now).to_string() }),
    )
    .send()
    .await
    .unwrap();

    let challenge =
        assert_problem(sign_in(&app, "fay", "").await, 401, "mfa_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let step = app.post_json(
        "/auth/token",
        json!({ "grant_type": "mfa", "mfa_token": challenge, "code": totp.generate(now + 30).to_string() }),
    );
    assert_eq!(step.send().await.unwrap().status(), 200);
}

/// An ID token for `login`, as a phone app gets one: it runs the provider's login itself (authorization code
/// with PKCE, for the client Agon is registered as) and keeps the ID token.
async fn app_id_token(app: &TestApp, idp: &Idp, provider: &str, login: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use sha2::Digest;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let discovery: Value = (browser.get(format!("{}/.well-known/openid-configuration", idp.1)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    let redirect = app.url(&format!("/auth/sso/{provider}/callback"));
    let mut authorize =
        reqwest::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", "agon")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("redirect_uri", &redirect)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "app-state");
    let first = browser.get(authorize).send().await.unwrap();
    // The last redirect carries the code to the registered URI (Agon refuses it there: not its own state).
    let landed = through_forms(&browser, first, login).await;
    let code = landed
        .url()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("a code")
        .1
        .into_owned();
    let tokens: Value = browser
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("agon", Some("agon-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", &redirect)
                .append_pair("code_verifier", &verifier)
                .finish(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().expect("an ID token").to_owned()
}

/// The token-exchange grant (RFC 8693) for an ID token of `provider`.
fn exchange(id_token: &str, provider: &str) -> Value {
    json!({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": id_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "subject_issuer": provider,
    })
}

#[tokio::test]
async fn an_apps_id_token_is_exchanged_for_agon_tokens_once_verified() {
    let (app, idp) = app_with_idp().await;
    let id_token = app_id_token(&app, &idp, "idp", "gina").await;
    let response = app
        .post_json("/auth/token", exchange(&id_token, "idp"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(
        tokens["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let claims = agon_testkit::claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["roles"], json!(["athlete"]));
    // Once only: a copy of the token (leaked, replayed) opens nothing.
    let replayed = app.post_json("/auth/token", exchange(&id_token, "idp"));
    let problem = assert_problem(replayed.send().await.unwrap(), 400, "sso_failed").await;
    assert_eq!(
        problem["detail"],
        "single sign-on failed: this ID token was already exchanged"
    );
    // The same person through the browser flow is the same account.
    let browser: Value = sign_in(&app, "gina", "").await.json().await.unwrap();
    let again = agon_testkit::claims(browser["access_token"].as_str().unwrap());
    assert_eq!(again["sub"], claims["sub"]);

    // A token whose signature does not verify, an unknown provider, another token type: refused.
    let (head, rest) = id_token.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let forged = format!("{head}.{payload}.c2lnbmF0dXJl");
    let refused = app
        .post_json("/auth/token", exchange(&forged, "idp"))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 400, "sso_failed").await;
    let refused = app
        .post_json("/auth/token", exchange(&id_token, "nope"))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 404, "unknown_provider").await;
    let mut wrong_type = exchange(&id_token, "idp");
    wrong_type["subject_token_type"] = json!("urn:ietf:params:oauth:token-type:access_token");
    let refused = app
        .post_json("/auth/token", wrong_type)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 422, "invalid_body").await;
}

/// Kinetix's `POST /tokens/google`: the app's Google ID token as the bearer, Agon's token back, once verified.
#[tokio::test]
async fn kinetix_google_sign_in_exchanges_a_verified_id_token() {
    let (app, idp) = idp_app("google", |c| agon_testkit::use_profile(c, "kinetix")).await;
    let id_token = app_id_token(&app, &idp, "google", "hugo").await;
    let google = |token: &str| {
        app.client
            .post(app.url("/tokens/google"))
            .bearer_auth(token)
            .send()
    };
    let response = google(&id_token).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    app.until(|| async {
        app.with_token(&access)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    let me: Value = app
        .with_token(&access)
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "hugo@idp.test");
    assert_eq!(me["fullname"], "hugo from the provider");

    // The original decoded the token without checking it: a forged one is refused here.
    let (head, rest) = id_token.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let response = google(&format!("{head}.{payload}.c2lnbmF0dXJl"))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .client
        .post(app.url("/tokens/google"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// WeAce's gateway SSO routes over the configured provider: the login URL, the callback's code and state handed
/// on, the user's info, the provider's logout page.
#[tokio::test]
async fn weace_sso_routes_run_over_the_configured_provider() {
    let (app, _idp) = idp_app("cognito", |c| agon_testkit::use_profile(c, "weace")).await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = app.client.get(app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let login_url = get("/api/v1/auth/sso/login", None).await["loginUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        get("/api/v1/auth/login-url", None).await["loginUrl"],
        login_url
    );
    // A browser that stops where the provider returns to Agon, and hands code and state to WeAce's route.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().path().ends_with("/callback") {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()
        .unwrap();
    let first = browser.get(&login_url).send().await.unwrap();
    let returned = through_forms(&browser, first, "ivy").await;
    let location = reqwest::Url::parse(returned.headers()["location"].to_str().unwrap()).unwrap();
    let query = location.query().unwrap().to_owned();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let done = get(&format!("/api/v1/auth/sso/callback?{query}"), None).await;
    assert_eq!(done["message"], "SSO authentication successful", "{done}");
    assert_eq!(done["state"], state.as_str());
    let access = done["tokens"]["accessToken"].as_str().unwrap().to_owned();
    // The state is single-use.
    let again = app
        .client
        .get(app.url(&format!("/api/v1/auth/sso/callback?{query}")));
    assert_eq!(again.send().await.unwrap().status(), 400);

    app.until(|| async {
        get("/api/v1/auth/sso/user-info", Some(&access)).await["userInfo"]["email"]
            == "ivy@idp.test"
    })
    .await;
    let info = get("/api/v1/auth/sso/user-info", Some(&access)).await;
    assert_eq!(info["message"], "User information retrieved successfully");
    assert_eq!(info["userInfo"]["name"], "ivy from the provider");
    let logout = get("/api/v1/auth/sso/logout", None).await;
    assert!(
        logout["logoutUrl"]
            .as_str()
            .unwrap()
            .contains("/session/end?client_id=agon"),
        "{logout}"
    );
    assert_eq!(get("/api/v1/auth/logout-url", None).await, logout);
}
