-- Usage indicators (src/indicators.rs). A day is the établissement's calendar day,
-- 'YYYY-MM-DD' (Europe/Paris unless configured), so that text order is date order.
-- Counts are of people and actions, never of what they wrote.

-- How many times each service (portlet id) was used on a day by a profile: kind is
-- 'view' (a window rendered in a page), 'action' (a form sent to it) or 'resource' (a
-- call to one of its resources). Every node adds what it counted since its last flush:
-- INSERT … ON CONFLICT … DO UPDATE SET n = n + excluded.n.
CREATE TABLE cartable_indicators (
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    profile TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('view', 'action', 'resource')),
    n BIGINT NOT NULL,
    PRIMARY KEY (day, service, profile, kind)
);

-- Who used a service on a day, while the day is open: visitor is a SHA-256 of the day,
-- the service and the user's id (never the id itself), so that the same person seen by
-- two nodes counts once. A person counts under one profile (her first). Deleted when the
-- day is closed into cartable_indicator_users.
CREATE TABLE cartable_indicator_visitors (
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    profile TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (day, service, profile, visitor)
);

-- How many different people of a profile used a service on a closed day.
CREATE TABLE cartable_indicator_users (
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    profile TEXT NOT NULL,
    users BIGINT NOT NULL,
    PRIMARY KEY (day, service, profile)
);
