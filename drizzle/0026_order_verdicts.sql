-- The risk governor's verdict for every order, not only for denied ones: each rule it checked,
-- the limit, what the order asked for and where the desk stood, as judged at placement. The
-- console's order drawer shows it ("why was this allowed?"). Orders placed before this migration
-- keep NULL here (their denial, when denied, stays in `denial`).
ALTER TABLE orders ADD COLUMN IF NOT EXISTS risk_verdicts jsonb;
