"""Sign-in routes: login (and with an unlock link), refresh, logout, activation of an invited
account, password reset."""

from fastapi import Request, Response, status
from pydantic import BaseModel, Field

from gateway.deps import CurrentCaller, Rpc, State
from gateway.devices import device_token, set_device_cookie
from gateway.problems import api_router
from libs.contracts import auth, lockout
from libs.contracts.rpc import Ack

router = api_router(prefix="/api/v1/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1)


class LogoutBody(BaseModel):
    refresh_token: str | None = None


class ActivateBody(BaseModel):
    token: str = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


class UnlockBody(BaseModel):
    token: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login")
async def log_in(
    body: LoginBody, request: Request, response: Response, rpc: Rpc, state: State
) -> auth.TokenPair:
    """Exchange e-mail and password for an access token and a refresh token.

    The device cookie lets this device sign in while failed attempts of others lock the address.
    """
    client_ip = request.client.host if request.client else None
    device = device_token(request)
    async with state.logins.admitted():  # a flood gets 503 + Retry-After, not a timeout
        pair = await rpc.call(auth.LOG_IN, auth.LoginRequest(
            email=body.email, password=body.password, client_ip=client_ip,
            device_token=device))
    set_device_cookie(request, response, device, state.settings)
    return pair


@router.get("/unlock/{token}")
async def look_up_unlock(token: str, rpc: Rpc) -> lockout.UnlockPreview:
    """Which address a mailed unlock link signs in (404 unknown, 410 expired or used)."""
    return await rpc.call(lockout.LOOK_UP_UNLOCK, lockout.UnlockLookupRequest(token=token))


@router.post("/unlock")
async def unlock_log_in(
    body: UnlockBody, request: Request, response: Response, rpc: Rpc, state: State
) -> auth.TokenPair:
    """Sign in with the mailed unlock link and the password, past the address's lockout."""
    client_ip = request.client.host if request.client else None
    device = device_token(request)
    async with state.logins.admitted():
        pair = await rpc.call(lockout.UNLOCK_LOG_IN, lockout.UnlockLoginRequest(
            token=body.token, password=body.password, client_ip=client_ip,
            device_token=device))
    set_device_cookie(request, response, device, state.settings)
    return pair


@router.post("/refresh")
async def refresh(body: RefreshBody, rpc: Rpc) -> auth.TokenPair:
    """A new token pair for a refresh token (which is used up: keep the new one)."""
    return await rpc.call(auth.REFRESH, auth.RefreshRequest(refresh_token=body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def log_out(
    claims: CurrentCaller, rpc: Rpc, state: State, body: LogoutBody | None = None
) -> None:
    """End the session: its access and refresh tokens stop working at once."""
    await rpc.call(auth.LOG_OUT, auth.LogoutRequest(
        refresh_token=body.refresh_token if body else None, session_id=claims.sid))
    state.deny_list.add(claims.sid)


@router.get("/invitations/{token}")
async def look_up_invitation(token: str, rpc: Rpc) -> auth.InvitationPreview:
    """What an activation link is for: the e-mail address to activate (404 unknown, 410 used)."""
    return await rpc.call(auth.LOOK_UP_INVITATION, auth.InvitationLookupRequest(token=token))


@router.post("/activate")
async def activate(body: ActivateBody, rpc: Rpc) -> auth.TokenPair:
    """Choose the password of an invited account; the client is signed in."""
    return await rpc.call(auth.ACTIVATE, auth.ActivateRequest(
        token=body.token, password=body.password))


class PasswordResetBody(BaseModel):
    email: str = Field(min_length=1, max_length=320)


class ResetPasswordBody(BaseModel):
    token: str = Field(min_length=1)
    password: str = Field(min_length=1, max_length=1024)


class ChangePasswordBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(body: PasswordResetBody, request: Request, rpc: Rpc) -> Ack:
    """Mail a reset link if the address has an account; the answer is the same either way."""
    client_ip = request.client.host if request.client else None
    return await rpc.call(auth.REQUEST_PASSWORD_RESET, auth.PasswordResetRequest(
        email=body.email, client_ip=client_ip))


@router.get("/password-reset/{token}")
async def look_up_password_reset(token: str, rpc: Rpc) -> auth.PasswordResetPreview:
    """Whose password a reset link resets (404 unknown, 410 expired or used)."""
    return await rpc.call(auth.LOOK_UP_PASSWORD_RESET,
                          auth.PasswordResetLookupRequest(token=token))


@router.post("/password-reset/confirm")
async def reset_password(body: ResetPasswordBody, rpc: Rpc) -> auth.TokenPair:
    """Choose a new password through the link: other sessions end, this one is signed in."""
    return await rpc.call(auth.RESET_PASSWORD, auth.ResetPasswordRequest(
        token=body.token, password=body.password))


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: ChangePasswordBody, claims: CurrentCaller, rpc: Rpc) -> None:
    """Change the password (the current one is asked again); other sessions end."""
    await rpc.call(auth.CHANGE_PASSWORD, auth.ChangePasswordRequest(
        caller=claims.caller(), session_id=claims.sid,
        current_password=body.current_password, new_password=body.new_password))
