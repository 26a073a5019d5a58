-- A key is published (JWKS) from created_at and signs from activates_at, so verifiers know it before they see it.
alter table signing_keys add column activates_at text;
update signing_keys set activates_at = created_at;
