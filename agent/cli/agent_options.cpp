#include "agent/cli/agent_options.hpp"

#include "vtpm/pcr.hpp"

namespace cvm::cli {

void AgentOptions::add_to(CLI::App& command) {
  command.add_option("--config", config_path, "daemon configuration file to start from (JSON)");
  command.add_option("--tcti", tcti, "TPM connection, e.g. device:/dev/tpmrm0")->envname("CVM_ATTEST_TCTI");
  command.add_option("--endpoint", endpoint, "attestation service URL (default: the region's shared MAA)")
      ->envname("CVM_ATTEST_ENDPOINT");
  command.add_option("--protocol", protocol, "azure-guest (default) or sevsnpvm");
  command.add_option("--ca-file", ca_file, "CA bundle for the attestation service and KDS")->envname("CVM_ATTEST_CA_FILE");
  command.add_option("--imds-url", imds_url, "Instance Metadata Service base URL")->envname("CVM_ATTEST_IMDS_URL");
  command.add_option("--kds-url", kds_url, "AMD KDS base URL")->envname("CVM_ATTEST_KDS_URL");
  command.add_option("--cache-dir", cache_dir, "VCEK cache directory (empty disables the cache)")
      ->envname("CVM_ATTEST_CACHE_DIR");
  command.add_option("--event-log", event_log, "measured-boot event log file")->envname("CVM_ATTEST_EVENT_LOG");
  command.add_option("--vcek-chain", chain_file, "VCEK, ASK and ARK (PEM) to use instead of fetching them");
  command.add_option("--trust-anchor", trust_anchors, "extra root certificate (PEM) besides the pinned AMD ARKs")
      ->envname("CVM_ATTEST_TRUST_ANCHOR");
  command.add_option("--pcrs", pcrs, "PCRs to quote, e.g. 0-7");
}

Result<agent::Config> AgentOptions::resolve() const {
  agent::Config config;
  if (!config_path.empty()) {
    config = CVM_TRY(agent::load_config(config_path, true));
  }
  if (!tcti.empty()) config.tpm.tcti = tcti;
  if (!endpoint.empty()) config.attestation.endpoint = endpoint;
  if (!protocol.empty()) config.attestation.protocol = CVM_TRY(client::parse_protocol(protocol));
  if (!ca_file.empty()) config.attestation.ca_file = ca_file;
  if (!imds_url.empty()) config.imds_url = imds_url;
  if (!kds_url.empty()) config.kds_url = kds_url;
  if (!cache_dir.empty()) config.certificates.cache_dir = cache_dir;
  if (!event_log.empty()) config.tpm.event_log = event_log;
  if (!chain_file.empty()) config.certificates.chain_file = chain_file;
  for (const auto& anchor : trust_anchors) config.certificates.trust_anchors.push_back(anchor);
  if (!pcrs.empty()) {
    auto indices = CVM_TRY(vtpm::parse_pcr_indices(pcrs));
    config.tpm.pcrs.assign(indices.begin(), indices.end());
  }
  if (config_path.empty() && cache_dir.empty()) {
    // Without a configuration the command line does not write the system cache.
    config.certificates.cache_dir.clear();
  }
  return config;
}

}  // namespace cvm::cli
