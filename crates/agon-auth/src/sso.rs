//! Single sign-on: Agon as an OpenID Connect relying party (authorization code flow with PKCE and a nonce).
//!
//! `GET /auth/sso/{provider}/login` redirects to the provider; its callback exchanges the code, verifies the ID
//! token (signature, issuer, audience, expiry, nonce), and logs the person in: through an account already
//! linked to that provider subject, or one with the same email when the provider vouches for it
//! (`email_verified`), or a new athlete account. Bans and pending approval apply exactly as to passwords.
//! The session is Agon's own (its refresh tokens, its logout); the provider's logout URL is handed back too.

use std::{collections::HashMap, sync::Arc, time::Duration};

use agon_db::time_text;
use agon_kit::{AuthUser, Json, Path, Query};
use axum::{
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata, CoreUserInfoClaims,
    },
    reqwest,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use uuid::Uuid;

use crate::{AccountStatus, State, domain, error::Error, store::SsoState};

/// An OpenID provider users may log in with (`[[auth.sso]]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name in URLs: `/auth/sso/{name}/login`.
    pub name: String,
    /// Issuer URL; its `/.well-known/openid-configuration` is read.
    pub issuer: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: Option<String>,
}

/// Discovered provider metadata, cached for an hour; a failed discovery is remembered for a minute, so a
/// provider that is down costs one outbound attempt a minute, not one per request.
#[derive(Clone, Default)]
pub struct Providers {
    cache: Arc<RwLock<HashMap<String, Cached>>>,
}

/// When a provider was asked, and what it answered (`None`: the discovery failed).
type Cached = (std::time::Instant, Option<Discovered>);

const DISCOVERED_FOR: Duration = Duration::from_secs(3600);
const FAILED_FOR: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct Discovered {
    metadata: CoreProviderMetadata,
    end_session: Option<String>,
}

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(sso_providers))
        .routes(routes!(sso_login))
        .routes(routes!(sso_callback))
        .routes(routes!(sso_logout))
}

/// Where to send the browser after the login.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoginParams {
    /// An allowed application URL (`auth.sso_redirects`): the tokens follow in its fragment. Without it, the
    /// callback answers the tokens as JSON.
    pub return_to: Option<String>,
}

/// What the provider sends back.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The provider's logout page, to end the session there too.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutUrl {
    pub logout_url: Option<String>,
}

/// The configured providers, in configuration order (a short list: it is the configuration).
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoProviders {
    pub items: Vec<SsoProvider>,
}

/// A provider a member can log in with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoProvider {
    pub name: String,
    /// Where a browser starts the login (`GET /auth/sso/{name}/login`).
    pub login_url: String,
    /// The provider's own logout page, when it publishes one (and can be reached now).
    pub logout_url: Option<String>,
}

/// Lists the providers members can log in with, for a login page's buttons.
#[utoipa::path(get, path = "/auth/sso", tag = "auth-sso", responses((status = 200, body = SsoProviders)))]
async fn sso_providers(state: State) -> Json<SsoProviders> {
    let base = state.config.public_url.trim_end_matches('/');
    let mut items = Vec::with_capacity(state.config.sso.len());
    for config in &state.config.sso {
        // An unreachable provider still lists: its login answers for itself when tried.
        let discovered = discover(&state, config).await.ok();
        items.push(SsoProvider {
            name: config.name.clone(),
            login_url: format!("{base}/auth/sso/{}/login", config.name),
            logout_url: discovered.and_then(|d| logout_url(config, d)),
        });
    }
    Json(SsoProviders { items })
}

/// Starts a login at the provider: redirects the browser to it.
#[utoipa::path(get, path = "/auth/sso/{provider}/login", tag = "auth-sso", params(("provider" = String, Path), LoginParams),
    responses((status = 302, description = "to the provider"), (status = 404), (status = 422)))]
async fn sso_login(
    state: State,
    Path(provider): Path<String>,
    Query(params): Query<LoginParams>,
) -> Result<Response, Error> {
    let config = provider_config(&state, &provider)?;
    if let Some(to) = &params.return_to
        && !state
            .config
            .sso_redirects
            .iter()
            .any(|allowed| to.starts_with(allowed.as_str()))
    {
        return Err(Error::invalid(
            "return_to",
            "is not an allowed redirect (auth.sso_redirects)",
        ));
    }
    let discovered = discover(&state, config).await?;
    let client = client(&state, config, &discovered)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let now = Utc::now();
    let pending = SsoState {
        provider: provider.clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        return_to: params.return_to,
    };
    state
        .store
        .put_sso_state(
            csrf.secret(),
            &pending,
            &time_text(now + chrono::Duration::minutes(10)),
            &time_text(now),
        )
        .await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response())
}

/// The provider's redirect back: verifies everything, then logs in (JSON tokens, or a redirect to `return_to`
/// with the tokens in the fragment).
#[utoipa::path(get, path = "/auth/sso/{provider}/callback", tag = "auth-sso", params(("provider" = String, Path), CallbackParams),
    responses((status = 200, body = crate::grants::TokenResponse), (status = 302), (status = 400), (status = 403)))]
async fn sso_callback(
    state: State,
    Path(provider): Path<String>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let config = provider_config(&state, &provider)?;
    if let Some(error) = params.error {
        tracing::info!(%provider, %error, description = params.error_description.unwrap_or_default(), "provider refused the login");
        return Err(Error::SsoFailed("the provider refused the login"));
    }
    let (Some(code), Some(csrf)) = (params.code, params.state) else {
        return Err(Error::SsoFailed("code and state are required"));
    };
    let pending = state
        .store
        .take_sso_state(&csrf, &time_text(Utc::now()))
        .await?
        .ok_or(Error::SsoFailed("unknown or expired state"))?;
    if pending.provider != provider {
        return Err(Error::SsoFailed("unknown or expired state"));
    }
    let who = identify(&state, config, &provider, code, &pending).await?;
    // A name the provider sends that a member could not have typed here is dropped, not refused: the profile
    // then starts from the email's local part.
    let name = domain::display_name(who.name).ok().flatten();
    let email = who.email.as_deref();
    let user_id = account_for(&state, &provider, &who.subject, email, who.verified, name).await?;
    let agent = crate::http::user_agent(&headers);
    log_in(&state, user_id, pending.return_to, agent.as_deref()).await
}

/// The account an ID token the provider issued to an app logs into (the token-exchange grant). No nonce: the
/// app, not Agon, started that login; the token is bound to this platform by its audience (`client_id`), and
/// it is exchanged once — a copy presented later (a leaked token, still within its hour) is refused.
pub(crate) async fn exchange(state: &State, provider: &str, id_token: &str) -> Result<Uuid, Error> {
    let config = provider_config(state, provider)?;
    let discovered = discover(state, config).await?;
    let client = client(state, config, &discovered)?;
    let refused = |e: &dyn std::fmt::Display| {
        tracing::info!(%provider, error = %e, "ID token refused");
        Error::SsoFailed("the ID token did not verify")
    };
    let token: CoreIdToken = id_token.trim().parse().map_err(|e| refused(&e))?;
    // The issuer is compared below instead: Google writes it with or without the scheme.
    let verifier = client.id_token_verifier().require_issuer_match(false);
    let claims = (token.claims(&verifier, |_: Option<&Nonce>| Ok(()))).map_err(|e| refused(&e))?;
    let issuer = claims.issuer().as_str();
    let configured = config.issuer.trim_end_matches('/');
    if issuer.trim_end_matches('/') != configured
        && Some(issuer) != configured.strip_prefix("https://")
    {
        return Err(refused(&format!("issuer {issuer}")));
    }
    let expires = claims.expiration();
    let name = (claims.name())
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    let name = domain::display_name(name).ok().flatten();
    let email = claims.email().map(|e| e.as_str().to_owned());
    let verified = claims.email_verified().unwrap_or(false);
    let subject = claims.subject().as_str();
    let user_id = account_for(state, provider, subject, email.as_deref(), verified, name).await?;
    spend_id_token(state, user_id, id_token.trim(), expires).await?;
    Ok(user_id)
}

/// Records an exchanged ID token (its digest, until it expires); a second exchange of it is refused.
async fn spend_id_token(
    state: &State,
    user_id: Uuid,
    id_token: &str,
    expires: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    let digest = domain::digest(id_token);
    let (until, now) = (time_text(expires), time_text(Utc::now()));
    let first = state
        .store
        .spend_token(&digest, user_id, EXCHANGED_ID_TOKEN, &until, &now);
    if !first.await? {
        return Err(Error::SsoFailed("this ID token was already exchanged"));
    }
    Ok(())
}

/// The `account_tokens` purpose of an exchanged ID token's digest.
const EXCHANGED_ID_TOKEN: &str = "exchanged_id_token";

/// Who the provider says logged in.
struct Identity {
    subject: String,
    email: Option<String>,
    verified: bool,
    name: Option<String>,
}

/// Exchanges the code (with the PKCE verifier) and verifies the ID token (with the nonce); asks the userinfo
/// endpoint for the email when the ID token has none.
async fn identify(
    state: &State,
    config: &ProviderConfig,
    provider: &str,
    code: String,
    pending: &SsoState,
) -> Result<Identity, Error> {
    let discovered = discover(state, config).await?;
    let client = client(state, config, &discovered)?;
    let http = http_client()?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| {
            tracing::warn!(%provider, error = %e, "code exchange failed");
            Error::SsoFailed("the provider did not accept the code")
        })?;
    let id_token = tokens
        .id_token()
        .ok_or(Error::SsoFailed("the provider sent no ID token"))?;
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(pending.nonce.clone()),
        )
        .map_err(|e| {
            tracing::warn!(%provider, error = %e, "ID token refused");
            Error::SsoFailed("the ID token did not verify")
        })?;
    let mut who = Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    };
    if who.email.is_none() {
        // Some providers put the email in userinfo only.
        let info: CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().to_owned(),
                Some(claims.subject().clone()),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .request_async(&http)
            .await
            .map_err(|e| anyhow::anyhow!("userinfo: {e}"))?;
        who.email = info.email().map(|e| e.as_str().to_owned());
        who.verified = info.email_verified().unwrap_or(false);
        let name = info
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        who.name = who.name.or(name);
    }
    Ok(who)
}

/// Opens the session of a provider login: tokens as JSON, or a redirect to `return_to` with the tokens (or the
/// second-factor challenge) in the fragment.
async fn log_in(
    state: &State,
    user_id: Uuid,
    return_to: Option<String>,
    agent: Option<&str>,
) -> Result<Response, Error> {
    // The provider's login does not replace a second factor the member turned on here.
    let g = match crate::grants::provider_grant(state, user_id, agent).await {
        Err(Error::MfaRequired(challenge)) if let Some(to) = &return_to => {
            return Ok(redirect(&format!(
                "{to}#error=mfa_required&mfa_token={challenge}"
            )));
        }
        other => other?,
    };
    let issued = crate::grants::issue_tokens(state, g.tx, g.user_id, g.session_id, &g.roles, agent);
    let issued = issued.await?;
    Ok(match return_to {
        Some(to) => redirect(&format!(
            "{to}#access_token={}&refresh_token={}&token_type=Bearer&expires_in={}",
            issued.access_token, issued.refresh_token, issued.expires_in
        )),
        None => Json(issued).into_response(),
    })
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Ends the caller's session and returns the provider's logout URL, to end the session there too.
#[utoipa::path(post, path = "/auth/sso/{provider}/logout", tag = "auth-sso", security(("bearer" = [])),
    params(("provider" = String, Path)), responses((status = 200, body = LogoutUrl), (status = 404)))]
async fn sso_logout(
    auth: AuthUser,
    state: State,
    Path(provider): Path<String>,
) -> Result<Json<LogoutUrl>, Error> {
    let config = provider_config(&state, &provider)?;
    crate::revoke(&state, auth.user_id, Some(auth.session_id), None).await?;
    let discovered = discover(&state, config).await?;
    Ok(Json(LogoutUrl {
        logout_url: logout_url(config, discovered),
    }))
}

/// The provider's logout page for this client (RP-initiated logout), when it publishes one.
fn logout_url(config: &ProviderConfig, discovered: Discovered) -> Option<String> {
    (discovered.end_session).map(|end| format!("{end}?client_id={}", config.client_id))
}

/// The account a provider identity logs into, linking or creating it.
async fn account_for(
    state: &State,
    provider: &str,
    subject: &str,
    email: Option<&str>,
    verified: bool,
    name: Option<String>,
) -> Result<uuid::Uuid, Error> {
    let now = time_text(Utc::now());
    if let Some(user_id) = state.store.sso_identity(provider, subject).await? {
        return Ok(user_id);
    }
    let email = email
        .and_then(|e| domain::Email::parse(e).ok())
        .ok_or(Error::SsoFailed("the provider shared no usable email"))?;
    if let Some(existing) = state.store.credentials(email.as_str()).await? {
        // Linking to an existing account on the provider's word only when it verified the address; otherwise
        // anyone could register that address at the provider and take the account over.
        if !verified {
            return Err(Error::SsoFailed(
                "an account with this email exists and the provider has not verified the address",
            ));
        }
        state
            .store
            .link_sso_identity(provider, subject, existing.user_id, &now)
            .await?;
        return Ok(existing.user_id);
    }
    // A new athlete account; its password is random and unknown, so only SSO (or a reset) logs into it.
    let hash = state.hasher.hash(domain::random_token()).await?;
    let user_id = crate::create_account(
        state,
        domain::Signup::named(email.clone(), name),
        &hash,
        &[agon_kit::Role::Athlete],
        AccountStatus::Active,
        "sso",
    )
    .await?;
    state
        .store
        .link_sso_identity(provider, subject, user_id, &now)
        .await?;
    Ok(user_id)
}

fn provider_config<'s>(state: &'s State, name: &str) -> Result<&'s ProviderConfig, Error> {
    state
        .config
        .sso
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Error::UnknownProvider(name.to_owned()))
}

async fn discover(state: &State, config: &ProviderConfig) -> Result<Discovered, Error> {
    if let Some((at, found)) = state.sso.cache.read().await.get(&config.name) {
        match found {
            Some(found) if at.elapsed() < DISCOVERED_FOR => return Ok(found.clone()),
            None if at.elapsed() < FAILED_FOR => return Err(Error::SsoUnavailable),
            _ => {}
        }
    }
    let found = discover_now(config).await;
    state.sso.cache.write().await.insert(
        config.name.clone(),
        (std::time::Instant::now(), found.as_ref().ok().cloned()),
    );
    found
}

async fn discover_now(config: &ProviderConfig) -> Result<Discovered, Error> {
    let http = http_client()?;
    let issuer = IssuerUrl::new(config.issuer.clone())
        .map_err(|e| anyhow::anyhow!("auth.sso issuer: {e}"))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %config.name, error = %e, "discovery failed");
            Error::SsoUnavailable
        })?;
    // `end_session_endpoint` (RP-initiated logout) is not among the core metadata fields.
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.issuer.trim_end_matches('/')
    );
    let document: serde_json::Value = match http.get(&url).send().await {
        Ok(response) => response
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    let end_session = document
        .get("end_session_endpoint")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok(Discovered {
        metadata,
        end_session,
    })
}

fn client(
    state: &State,
    config: &ProviderConfig,
    discovered: &Discovered,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Error,
> {
    let redirect = format!(
        "{}/auth/sso/{}/callback",
        state.config.public_url.trim_end_matches('/'),
        config.name
    );
    Ok(CoreClient::from_provider_metadata(
        discovered.metadata.clone(),
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(
        RedirectUrl::new(redirect).map_err(|e| anyhow::anyhow!("auth.public_url: {e}"))?,
    ))
}

fn http_client() -> Result<reqwest::Client, Error> {
    // No redirects: following them would open the door to SSRF through a provider's answers.
    Ok(reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| anyhow::anyhow!("http client: {e}"))?)
}
