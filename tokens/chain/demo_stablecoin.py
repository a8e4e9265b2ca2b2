"""The demo's test dollar (`tokens.demo`): a `MockStablecoin` ("Test USD", TUSD, 6 decimals, anyone may mint)
deployed by the platform's deployer on the devnet only; its confirmation creates LUMEN's sale, paid in it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from tokens.chain.builders import BuildRefused, Call, builder, constructor_data, object_pk, on_confirmed
from tokens.models import ChainIntent

logger = logging.getLogger(__name__)

PURPOSE = "demo.stablecoin"


@builder(PURPOSE)
def stablecoin_deploy(intent: ChainIntent) -> Call:
    if intent.chain_id != settings.DEVNET_CHAIN_ID:
        raise BuildRefused("The test dollar exists on the devnet only.")
    return Call(None, constructor_data("MockStablecoin", "Test USD", "TUSD"))


@on_confirmed(PURPOSE)
def stablecoin_deployed(intent: ChainIntent) -> None:
    """Create and deploy the demo's sale. A refusal (the owner changed the draft sale or left) is logged, not
    raised: raising would leave this confirmation to fail on every pass and hold up the deployer's later
    transactions; `demo_load` tries again."""
    from tokens.demo import demo_sale_deploy

    try:
        demo_sale_deploy(token_id=object_pk(intent, "token"), stablecoin=str(intent.contract_address))
    except (ValidationError, PermissionDenied):
        logger.warning("demo: the sale paid in the test dollar at %s was not deployed", intent.contract_address,
                       exc_info=True)
