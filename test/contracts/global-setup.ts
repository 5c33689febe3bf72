/** Compiles contracts/evm with Hardhat (the pinned npm solc) once before the test files run. */
export default async function setup(): Promise<void> {
  const { default: hre } = await import("hardhat");
  await hre.tasks.getTask("build").run({ quiet: true });
}
