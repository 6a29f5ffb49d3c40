"""The operator's `python -m services.auth create-admin` command, on the real database."""

import os
import subprocess
import sys

from pymongo import MongoClient

from libs.servicekit.mongo import Document

PASSWORD = "correct horse battery staple"


def create_admin(
    mongo_url: str, database_name: str, email: str, *, env_password: str | None = None,
    typed: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run the command as an operator would, with only the given MYBROKER_ settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYBROKER_")}
    env |= {"MYBROKER_AUTH_MONGO_URL": mongo_url, "MYBROKER_AUTH_MONGO_DB": database_name,
            "MYBROKER_ENVIRONMENT": "test", "MYBROKER_LOG_LEVEL": "WARNING"}
    if env_password is not None:
        env["MYBROKER_AUTH_BOOTSTRAP_ADMIN_PASSWORD"] = env_password
    return subprocess.run(
        [sys.executable, "-m", "services.auth", "create-admin", "--email", email,
         "--name", "Office Admin"],
        input=typed, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def test_create_admin_takes_the_password_from_the_environment(
    mongo_url: str, database_name: str
) -> None:
    done = create_admin(mongo_url, database_name, "Admin@Office.be", env_password=PASSWORD)
    assert done.returncode == 0, done.stderr
    assert "Created admin admin@office.be" in done.stdout
    with MongoClient[Document](mongo_url) as client:
        [admin] = client[database_name]["users"].find({})
        assert (admin["email"], admin["role"], admin["status"]) == (
            "admin@office.be", "admin", "active")
        assert admin["password_hash"].startswith("$argon2id$")

        again = create_admin(mongo_url, database_name, "admin@office.be", env_password=PASSWORD)
        assert again.returncode == 1
        assert "exists already" in again.stderr
        client.drop_database(database_name)


def test_create_admin_asks_the_password_twice_when_not_in_the_environment(
    mongo_url: str, database_name: str
) -> None:
    differs = create_admin(mongo_url, database_name, "admin@office.be",
                           typed=f"{PASSWORD}\nsomething else entirely\n")
    assert differs.returncode == 1
    assert "The passwords differ." in differs.stderr

    short = create_admin(mongo_url, database_name, "admin@office.be", typed="short\nshort\n")
    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr

    done = create_admin(mongo_url, database_name, "admin@office.be",
                        typed=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    with MongoClient[Document](mongo_url) as client:
        assert client[database_name]["users"].count_documents({"role": "admin"}) == 1
        client.drop_database(database_name)
