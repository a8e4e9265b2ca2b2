from django.db import migrations

# The ledger's invariants, held by the database whatever writes to it:
#  - append-only: UPDATE and DELETE are refused;
#  - a class never has more shares issued than authorized;
#  - no security is used up beyond what it holds (no negative holding, no option exercised twice);
#  - an option pool never goes below zero;
#  - a convertible converts at most once.
# Services lock the rows they change first (select_for_update), so concurrent writers queue instead of racing
# past these checks; the triggers are the last word for anything else that writes.
FORWARD = """
CREATE FUNCTION equity_transaction_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the equity ledger is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER equity_transaction_no_update_delete
    BEFORE UPDATE OR DELETE ON equity_equitytransaction
    FOR EACH ROW EXECUTE FUNCTION equity_transaction_append_only();

CREATE FUNCTION equity_transaction_check() RETURNS trigger AS $$
DECLARE
    issued bigint;
    authorized bigint;
    held bigint;
    used bigint;
    pool bigint;
BEGIN
    IF NEW.share_class_id IS NOT NULL THEN
        SELECT
            COALESCE(SUM(CASE WHEN kind IN ('stock_issuance', 'stock_transfer', 'option_exercise', 'warrant_exercise',
                                            'conversion') THEN quantity ELSE 0 END), 0)
          - COALESCE(SUM(CASE WHEN kind IN ('stock_transfer', 'stock_cancellation', 'stock_repurchase')
                              THEN quantity ELSE 0 END), 0)
          INTO issued
          FROM equity_equitytransaction WHERE share_class_id = NEW.share_class_id;
        SELECT authorized_shares INTO authorized FROM equity_shareclass WHERE id = NEW.share_class_id;
        IF issued > authorized THEN
            RAISE EXCEPTION 'equity: % shares issued would exceed the % authorized', issued, authorized
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.acts_on_id IS NOT NULL AND NEW.kind IN ('stock_transfer', 'stock_cancellation', 'stock_repurchase',
                                                   'option_exercise', 'option_cancellation', 'warrant_exercise') THEN
        SELECT quantity INTO held FROM equity_equitytransaction WHERE id = NEW.acts_on_id;
        SELECT COALESCE(SUM(quantity), 0) INTO used FROM equity_equitytransaction
         WHERE acts_on_id = NEW.acts_on_id
           AND kind IN ('stock_transfer', 'stock_cancellation', 'stock_repurchase', 'option_exercise',
                        'option_cancellation', 'warrant_exercise');
        IF used > held THEN
            RAISE EXCEPTION 'equity: security % would be used beyond its % shares', NEW.acts_on_id, held
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.plan_id IS NOT NULL THEN
        SELECT COALESCE(SUM(CASE kind WHEN 'plan_adjustment' THEN quantity
                                      WHEN 'option_grant' THEN -quantity
                                      WHEN 'option_cancellation' THEN quantity
                                      ELSE 0 END), 0)
          INTO pool FROM equity_equitytransaction WHERE plan_id = NEW.plan_id;
        IF pool < 0 THEN
            RAISE EXCEPTION 'equity: the option pool would be short by % shares', -pool
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER equity_transaction_invariants
    AFTER INSERT ON equity_equitytransaction
    FOR EACH ROW EXECUTE FUNCTION equity_transaction_check();

CREATE UNIQUE INDEX equity_convertible_converts_once ON equity_equitytransaction (acts_on_id)
    WHERE kind = 'conversion';
"""

BACKWARD = """
DROP INDEX IF EXISTS equity_convertible_converts_once;
DROP TRIGGER IF EXISTS equity_transaction_invariants ON equity_equitytransaction;
DROP FUNCTION IF EXISTS equity_transaction_check();
DROP TRIGGER IF EXISTS equity_transaction_no_update_delete ON equity_equitytransaction;
DROP FUNCTION IF EXISTS equity_transaction_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("equity", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
