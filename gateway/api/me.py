"""Who am I: the signed-in user and the dossiers they may open."""

from pydantic import BaseModel

from gateway.deps import CurrentCaller, Rpc, RpcCaller, State
from gateway.problems import api_router
from gateway.read_model import ReadModel
from libs.contracts import dossier, notifier
from libs.contracts.auth import AccessClaims
from libs.contracts.caller import Role

router = api_router(prefix="/api/v1", tags=["me"])
_SUMMARIES_KEY = (dossier.LIST_DOSSIER_SUMMARIES.queue,)  # the read model's key of the names


class DossierRef(BaseModel):
    dossier_id: str
    name: str


class MePublic(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: Role
    language: str
    dossiers: list[DossierRef]


async def granted_dossiers(rpc: RpcCaller, claims: AccessClaims,
                           read_model: ReadModel | None = None) -> list[DossierRef]:
    """The caller's dossiers with their names, in grant order (an unimported one shows its id).
    With the `read_model`, the names are kept while none of these dossiers changes."""
    if not claims.dossiers:
        return []

    async def summaries_of() -> dossier.DossierSummaries:
        return await rpc.call(dossier.LIST_DOSSIER_SUMMARIES, dossier.DossierListQuery(
            caller=claims.caller(), dossier_ids=claims.dossiers))

    if read_model is None:
        summaries = await summaries_of()
    else:  # the dossiers are the token's grants: the caller may see each of them
        summaries = await read_model.read_reply(tuple(claims.dossiers), _SUMMARIES_KEY,
                                                summaries_of, dossier.DossierSummaries)
    return _named(claims, summaries)


def kept_dossiers(claims: AccessClaims, read_model: ReadModel) -> list[DossierRef] | None:
    """What `granted_dossiers` answers from the read model alone; None when it would ask the
    dossier service (nothing kept for the current versions)."""
    if not claims.dossiers:
        return []
    kept = read_model.kept(tuple(claims.dossiers), _SUMMARIES_KEY)
    if kept is None:
        return None
    return _named(claims, dossier.DossierSummaries.model_validate_json(kept.value))


def _named(claims: AccessClaims, summaries: dossier.DossierSummaries) -> list[DossierRef]:
    names = {summary.dossier_id: summary.name for summary in summaries.dossiers}
    return [DossierRef(dossier_id=d, name=names.get(d, d)) for d in claims.dossiers]


@router.get("/me")
async def read_me(claims: CurrentCaller, rpc: Rpc, state: State) -> MePublic:
    """The signed-in user and the dossiers granted to them."""
    return MePublic(
        user_id=claims.sub, email=claims.email, display_name=claims.name, role=claims.role,
        language=claims.lang, dossiers=await granted_dossiers(rpc, claims, state.read_model),
    )


@router.get("/me/notifications")
async def read_notification_settings(
    claims: CurrentCaller, rpc: Rpc,
) -> notifier.NotificationSettings:
    """How the signed-in user hears of news ("Mijn meldingen"): per category (requests,
    documents, signatures) at once or in one daily digest, and the language of the mails.
    Signature requests, password, login, invitation and registration mails always go at once."""
    return await rpc.call(notifier.GET_PREFERENCES, notifier.PreferencesQuery(
        caller=claims.caller()))


@router.put("/me/notifications")
async def save_notification_settings(
    preferences: notifier.NotificationPreferences, claims: CurrentCaller, rpc: Rpc,
) -> notifier.NotificationSettings:
    """Replace the signed-in user's mail preferences."""
    return await rpc.call(notifier.SAVE_PREFERENCES, notifier.SavePreferencesRequest(
        caller=claims.caller(), preferences=preferences))
