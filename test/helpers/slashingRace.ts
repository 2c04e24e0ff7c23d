/**
 * Child process for the cross-process slashing test: tries to sign one attestation per target in the given
 * range with this process's own signing root, prints how many it was allowed to sign.
 */
import {SlashingProtection} from "../../src/storage/slashing/slashingProtection.js";

const [path, tag, targets] = process.argv.slice(2) as [string, string, string];
const db = SlashingProtection.open(path);
let signed = 0;
for (let t = 1; t <= Number(targets); t++) {
  const root = "0x" + tag.repeat(64).slice(0, 64);
  const [v] = await db.checkAndInsertAttestations([
    {pubkey: "0x" + "c3".repeat(48), sourceEpoch: 0, targetEpoch: t, signingRoot: root},
  ]);
  if (v?.ok) signed++;
}
await db.close();
process.stdout.write(String(signed));
