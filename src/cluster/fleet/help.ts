/** The `portcullis fleet` lines of `portcullis --help`. */
export const FLEET_HELP = `  portcullis fleet token -c FILE [--ttl 1h] [--name NODE]
      Make a one-time enrolment token for a data plane of the control plane FILE runs
      (kept hashed in its fleet.state_dir; printed once). --name: only that node may use it.
`;
