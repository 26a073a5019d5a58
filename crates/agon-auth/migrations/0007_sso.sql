-- Logins in progress at an OpenID provider: the state parameter keys the PKCE verifier and nonce (10 minutes).
create table sso_states (
    state text primary key,
    provider text not null,
    pkce_verifier text not null,
    nonce text not null,
    return_to text,
    expires_at text not null,
    created_at text not null
);

-- Accounts linked to a provider's subject.
create table sso_identities (
    provider text not null,
    subject text not null,
    user_id text not null references accounts (id) on delete cascade,
    created_at text not null,
    primary key (provider, subject)
);
create index sso_identities_user on sso_identities (user_id);
