// Run once by the mongo image on a fresh data volume (/docker-entrypoint-initdb.d, as the root
// user of MONGO_INITDB_ROOT_*): one user per service, readWrite on its own database only, as the
// MongoDBCommunity users of the prod overlay. Passwords come from the container's environment
// (MONGO_PASSWORD_<SERVICE>, from .env). The gateway has no user.
const admin = db.getSiblingDB("admin");
for (const service of ["auth", "dossier", "requests", "documents", "signing", "notifier"]) {
  const password = process.env[`MONGO_PASSWORD_${service.toUpperCase()}`];
  if (!password) {
    throw new Error(`MONGO_PASSWORD_${service.toUpperCase()} is not set`);
  }
  admin.createUser({
    user: `mybroker-${service}`,
    pwd: password,
    roles: [{ role: "readWrite", db: `mybroker_${service}` }],
  });
}
