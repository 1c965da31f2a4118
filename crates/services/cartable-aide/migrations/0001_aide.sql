-- The aide service: the help texts an établissement writes (one row per topic and
-- language), and the incidents users report, with their handling.

-- `topic` is `portail` (the portal-wide help) or a profile name (`eleve`, `parent`…: that
-- profile's tutorial); `lang` is `fr` or `en`; `body` is the Markdown as typed.
CREATE TABLE aide_text (
    topic TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (topic, lang)
);

-- One incident, numbered from 1 in the établissement. `page` and `service` say where it
-- was reported from; `status` is `nouveau`, `en-cours`, `resolu` or `ferme`; `assignee` is
-- a user id or empty; `version` grows with each change (a stale edit is refused).
CREATE TABLE aide_incident (
    id BIGINT NOT NULL PRIMARY KEY,
    reporter TEXT NOT NULL,
    reporter_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    page TEXT NOT NULL,
    service TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT NOT NULL,
    answer TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX aide_incident_reporter ON aide_incident (reporter, id);
CREATE INDEX aide_incident_status ON aide_incident (status, id);
