"""The only code that touches the network: fetches SAR pages into snapshots."""
