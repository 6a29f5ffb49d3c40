"""OpenAPI links: which operation takes the id an answer gives (the message just sent -> its
thread, an uploaded document -> its content, an invitation -> resend or revoke it).

A client developer reads in the document where each id leads; the API's stateful fuzzing
(tests/security/test_api_fuzzing.py) follows the same links, so it reaches what a call created
instead of guessing ids. A link names its target by `operationRef` (a JSON pointer into the
same document): the path and method say what it is, without FastAPI's generated operation ids.
"""

from typing import Any

DOSSIER = "$request.path.dossier_id"  # the same dossier as the call that answered
Link = dict[str, Any]


def operation_ref(method: str, path: str) -> str:
    """`#/paths/~1api~1v1~1me/get`: the operation `GET /api/v1/me` of this document."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()


def link(target: str, description: str, **parameters: str) -> Link:
    """A link to `target` ("GET /api/v1/..."), each parameter taken by a runtime expression
    (`$response.body#/request_id`, `$request.path.dossier_id`)."""
    method, path = target.split(" ", 1)
    return {"operationRef": operation_ref(method, path), "description": description,
            "parameters": parameters}


def answer_links(*status_codes: int, **links: Link) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry of a route whose answers (`status_codes`) carry these links."""
    return {code: {"links": links} for code in status_codes}


# The client API -------------------------------------------------------------------------------
CLIENT = "/api/v1/dossiers/{dossier_id}"


def request_thread(request_id: str) -> dict[str, Link]:
    """A request's thread and a reply to it, the request's id at `request_id` (a JSON pointer)."""
    found = f"$response.body#{request_id}"
    return {
        "ReadRequest": link(f"GET {CLIENT}/requests/{{request_id}}",
                            "The request with its thread and timeline",
                            dossier_id=DOSSIER, request_id=found),
        "Reply": link(f"POST {CLIENT}/requests/{{request_id}}/replies",
                      "Reply in the request's thread", dossier_id=DOSSIER, request_id=found),
    }


def document_bodies(document_id: str) -> dict[str, Link]:
    """A document's original, its PDF view and its thumbnail, its id at `document_id`."""
    found = f"$response.body#{document_id}"
    return {
        "DownloadDocument": link(f"GET {CLIENT}/documents/{{document_id}}/content",
                                 "The original file", dossier_id=DOSSIER, document_id=found),
        "ViewDocument": link(f"GET {CLIENT}/documents/{{document_id}}/view",
                             "The document as PDF (or the image)", dossier_id=DOSSIER,
                             document_id=found),
        "DocumentThumbnail": link(f"GET {CLIENT}/documents/{{document_id}}/thumbnail",
                                  "A small JPEG of an image", dossier_id=DOSSIER,
                                  document_id=found),
    }


def draft(kind: str, **about: str) -> dict[str, Link]:
    """A form's draft (of `kind`, opened from the `about` given): read it back, throw it away."""
    return {
        "ReadDraft": link(f"GET {CLIENT}/drafts/{{kind}}", "The draft as saved",
                          dossier_id=DOSSIER, kind=kind, **about),
        "DeleteDraft": link(f"DELETE {CLIENT}/drafts/{{kind}}", "Throw the draft away",
                            dossier_id=DOSSIER, kind=kind, **about),
    }


def signature_offer(signature_id: str) -> dict[str, Link]:
    """What a client may do with a document to sign, its signature request's id at
    `signature_id`."""
    found = f"$response.body#{signature_id}"
    base = "/api/v1/signature-requests/{signature_id}"
    return {
        "ReadOffer": link(f"GET {base}", "The document to sign and who signs",
                          signature_id=found),
        "MobileStatus": link(f"GET {base}/mobile", "Whether this device may sign with a PIN",
                             signature_id=found),
        "SignedDocument": link(f"GET {base}/signed-document", "The signed PDF, once signed",
                               signature_id=found),
    }


def export(export_id: str) -> dict[str, Link]:
    """A data export's progress and its archive, its id at `export_id`."""
    found = f"$response.body#{export_id}"
    return {
        "ReadExport": link("GET /api/v1/privacy/exports/{export_id}", "The export's progress",
                           export_id=found),
        "DownloadExport": link("GET /api/v1/privacy/exports/{export_id}/download",
                               "The archive, once ready", export_id=found),
    }


# The admin API --------------------------------------------------------------------------------
ADMIN = "/admin/api/v1"


def account(user_id: str = "/user_id", *, invited: bool = False) -> dict[str, Link]:
    """What staff do with an account, its id at `user_id`; an invited one's invitation too."""
    found = f"$response.body#{user_id}"
    links = {
        "ReadUser": link(f"GET {ADMIN}/users/{{user_id}}", "The account", user_id=found),
        "DisableUser": link(f"POST {ADMIN}/users/{{user_id}}/disable",
                            "No more logins; its sessions end", user_id=found),
    }
    if invited:
        links |= {
            "ResendInvitation": link(f"POST {ADMIN}/users/{{user_id}}/invitation/resend",
                                     "A new activation link", user_id=found),
            "RevokeInvitation": link(f"POST {ADMIN}/users/{{user_id}}/invitation/revoke",
                                     "The activation link stops working", user_id=found),
            "EraseAccount": link(f"POST {ADMIN}/accounts/{{user_id}}/erasure",
                                 "Erase the client account", user_id=found),
        }
    return links


def dossier_reads(dossier_id: str) -> dict[str, Link]:
    """What staff read of a dossier, its id at `dossier_id` (a runtime expression)."""
    return {
        "ReadDossier": link(f"GET {ADMIN}/dossiers/{{dossier_id}}", "The dossier's summary",
                            dossier_id=dossier_id),
        "DossierRequests": link(f"GET {ADMIN}/dossiers/{{dossier_id}}/requests",
                                "Its requests and messages", dossier_id=dossier_id),
        "DossierMails": link(f"GET {ADMIN}/dossiers/{{dossier_id}}/mails",
                             "The mails sent about it", dossier_id=dossier_id),
        "DossierClientSheets": link(f"GET {ADMIN}/dossiers/{{dossier_id}}/client-sheets",
                                    "Its client sheets", dossier_id=dossier_id),
        "DossierEnrolments": link(f"GET {ADMIN}/dossiers/{{dossier_id}}/mobile-enrolments",
                                  "The devices enrolled for the mobile signature",
                                  dossier_id=dossier_id),
    }


def dossier_changes(dossier_id: str) -> dict[str, Link]:
    """What staff do to a dossier they just made, its id at `dossier_id`: publish in it, erase
    it (never offered from a search: the links of a list lead to reads)."""
    return dossier_reads(dossier_id) | {
        "PublishDocument": link(f"POST {ADMIN}/dossiers/{{dossier_id}}/documents",
                                "Publish a document in it", dossier_id=dossier_id),
        "EraseDossier": link(f"POST {ADMIN}/dossiers/{{dossier_id}}/erasure",
                             "Close and erase it", dossier_id=dossier_id),
        "DossierErasure": link(f"GET {ADMIN}/dossiers/{{dossier_id}}/erasure",
                               "Its erasure's progress", dossier_id=dossier_id),
    }


def office_request(request_id: str) -> dict[str, Link]:
    """How staff handle a request, its id at `request_id` (a runtime expression)."""
    base = f"{ADMIN}/requests/{{request_id}}"
    return {
        "ReadRequest": link(f"GET {base}", "The request with its thread, notes and timeline",
                            request_id=request_id),
        "TakeRequest": link(f"POST {base}/take", "Take it in progress", request_id=request_id),
        "AssignRequest": link(f"POST {base}/assign", "Give it to a staff member",
                              request_id=request_id),
        "SetStatus": link(f"POST {base}/status", "Accept, refuse or close it",
                          request_id=request_id),
        "AddNote": link(f"POST {base}/notes", "An internal note", request_id=request_id),
        "Answer": link(f"POST {base}/answer", "Answer the client", request_id=request_id),
    }


def signature_request(signature_id: str, *, cancel: bool = False) -> dict[str, Link]:
    """A signature request's state, trail and result, its id at `signature_id`; the one just
    made may be withdrawn too."""
    found = f"$response.body#{signature_id}"
    base = f"{ADMIN}/signature-requests/{{signature_id}}"
    withdraw = {"CancelSignatureRequest": link(f"POST {base}/cancel", "Withdraw it",
                                               signature_id=found)} if cancel else {}
    return withdraw | {
        "ReadSignatureRequest": link(f"GET {base}", "Its state and signers",
                                     signature_id=found),
        "SignatureAuditTrail": link(f"GET {base}/audit", "Who did what, when",
                                    signature_id=found),
        "VerifySignatures": link(f"GET {base}/verification", "The signatures checked",
                                 signature_id=found),
        "SignedDocument": link(f"GET {base}/signed-document", "The signed PDF, once signed",
                               signature_id=found),
    }
