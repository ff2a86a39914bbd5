// Passwords are hashed with argon2id through Bun.password.
import type { Config } from "../config.ts";

export class Passwords {
  private readonly options: { algorithm: "argon2id"; memoryCost: number; timeCost: number };
  private decoyHash: Promise<string> | undefined;

  constructor(config: Pick<Config, "passwordHashMemoryKiB" | "passwordHashTimeCost">) {
    this.options = { algorithm: "argon2id", memoryCost: config.passwordHashMemoryKiB, timeCost: config.passwordHashTimeCost };
  }

  hash(password: string): Promise<string> {
    return Bun.password.hash(password, this.options);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return Bun.password.verify(password, hash, "argon2id");
  }

  /**
   * Does the work of a real verification for a username that does not exist, so that a login for an
   * unknown user takes as long as one for a known user with a wrong password.
   */
  async verifyAgainstDecoy(password: string): Promise<false> {
    this.decoyHash ??= this.hash(newDecoySecret());
    await this.verify(password, await this.decoyHash);
    return false;
  }
}

function newDecoySecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
}
