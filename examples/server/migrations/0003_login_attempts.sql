-- Login attempts per email, counted before the password is checked, so concurrent guesses
-- cannot outrun the limit and replicas on one database share it. The key is the SHA-256 hex
-- of the lowercased email (never the email itself); a row whose window has passed starts
-- over on the next attempt and is deleted by the periodic expiry.

CREATE TABLE login_attempts (
    key_hash TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start TEXT NOT NULL
);
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
