"""Cloud backends of ConfidentialGpuCluster: each module has ``provision(component, name, args)`` that creates the
cluster, its keys and its GPU node pools as children of the component and returns a ProvisionedCluster."""
