"""The enums of the fields of Kubernetes 1.33's built-in kinds, as its API server publishes them (OpenAPI v3).

kubernetes-validate's schemas come from the OpenAPI v2, which carries none; the API server refuses a value outside
them ("Unsupported value"), so K8S001 checks them too (generator.checks.validate). Definition -> field (`name[]`: the
items of a list) -> values. tests/box/test_parity.py holds this table to the box's API server (Kubernetes 1.33.13)
and prints the table it serves when they differ.
"""

# Lists the OpenAPI v3 document repeats for several fields, written once.
STOP_SIGNALS = [
    "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE", "SIGHUP", "SIGILL", "SIGINT",
    "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR", "SIGQUIT", "SIGRTMAX",
    "SIGRTMAX-1", "SIGRTMAX-10", "SIGRTMAX-11", "SIGRTMAX-12", "SIGRTMAX-13", "SIGRTMAX-14", "SIGRTMAX-2",
    "SIGRTMAX-3", "SIGRTMAX-4", "SIGRTMAX-5", "SIGRTMAX-6", "SIGRTMAX-7", "SIGRTMAX-8", "SIGRTMAX-9",
    "SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14",
    "SIGRTMIN+15", "SIGRTMIN+2", "SIGRTMIN+3", "SIGRTMIN+4", "SIGRTMIN+5", "SIGRTMIN+6", "SIGRTMIN+7",
    "SIGRTMIN+8", "SIGRTMIN+9", "SIGSEGV", "SIGSTKFLT", "SIGSTOP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ",
]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TERMINATION_MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"]

CORE_ENUMS: dict[str, dict[str, list[str]]] = {
    "io.k8s.api.admissionregistration.v1.MatchResources": {
        "matchPolicy": ["Equivalent", "Exact"],
    },
    "io.k8s.api.admissionregistration.v1.MutatingWebhook": {
        "failurePolicy": ["Fail", "Ignore"],
        "matchPolicy": ["Equivalent", "Exact"],
        "reinvocationPolicy": ["IfNeeded", "Never"],
        "sideEffects": ["None", "NoneOnDryRun", "Some", "Unknown"],
    },
    "io.k8s.api.admissionregistration.v1.NamedRuleWithOperations": {
        "operations[]": ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"],
    },
    "io.k8s.api.admissionregistration.v1.RuleWithOperations": {
        "operations[]": ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"],
    },
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec": {
        "validationActions[]": ["Audit", "Deny", "Warn"],
    },
    "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec": {
        "failurePolicy": ["Fail", "Ignore"],
    },
    "io.k8s.api.admissionregistration.v1.ValidatingWebhook": {
        "failurePolicy": ["Fail", "Ignore"],
        "matchPolicy": ["Equivalent", "Exact"],
        "sideEffects": ["None", "NoneOnDryRun", "Some", "Unknown"],
    },
    "io.k8s.api.apps.v1.DaemonSetUpdateStrategy": {
        "type": ["OnDelete", "RollingUpdate"],
    },
    "io.k8s.api.apps.v1.DeploymentStrategy": {
        "type": ["Recreate", "RollingUpdate"],
    },
    "io.k8s.api.apps.v1.StatefulSetSpec": {
        "podManagementPolicy": ["OrderedReady", "Parallel"],
    },
    "io.k8s.api.apps.v1.StatefulSetUpdateStrategy": {
        "type": ["OnDelete", "RollingUpdate"],
    },
    "io.k8s.api.batch.v1.CronJobSpec": {
        "concurrencyPolicy": ["Allow", "Forbid", "Replace"],
    },
    "io.k8s.api.batch.v1.JobSpec": {
        "completionMode": ["Indexed", "NonIndexed"],
        "podReplacementPolicy": ["Failed", "TerminatingOrFailed"],
    },
    "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement": {
        "operator": ["In", "NotIn"],
    },
    "io.k8s.api.batch.v1.PodFailurePolicyRule": {
        "action": ["Count", "FailIndex", "FailJob", "Ignore"],
    },
    "io.k8s.api.certificates.v1.CertificateSigningRequestSpec": {
        "usages[]": [
            "any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment",
            "decipher only", "digital signature", "email protection", "encipher only", "ipsec end system",
            "ipsec tunnel", "ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc",
            "ocsp signing", "s/mime", "server auth", "signing", "timestamping",
        ],
    },
    "io.k8s.api.core.v1.AppArmorProfile": {
        "type": ["Localhost", "RuntimeDefault", "Unconfined"],
    },
    "io.k8s.api.core.v1.AzureDiskVolumeSource": {
        "cachingMode": ["None", "ReadOnly", "ReadWrite"],
        "kind": ["Dedicated", "Managed", "Shared"],
    },
    "io.k8s.api.core.v1.Container": {
        "imagePullPolicy": PULL_POLICIES,
        "terminationMessagePolicy": TERMINATION_MESSAGE_POLICIES,
    },
    "io.k8s.api.core.v1.ContainerPort": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.core.v1.ContainerStatus": {
        "stopSignal": STOP_SIGNALS,
    },
    "io.k8s.api.core.v1.EndpointPort": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.core.v1.EphemeralContainer": {
        "imagePullPolicy": PULL_POLICIES,
        "terminationMessagePolicy": TERMINATION_MESSAGE_POLICIES,
    },
    "io.k8s.api.core.v1.HTTPGetAction": {
        "scheme": ["HTTP", "HTTPS"],
    },
    "io.k8s.api.core.v1.HostPathVolumeSource": {
        "type": ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"],
    },
    "io.k8s.api.core.v1.ImageVolumeSource": {
        "pullPolicy": PULL_POLICIES,
    },
    "io.k8s.api.core.v1.Lifecycle": {
        "stopSignal": STOP_SIGNALS,
    },
    "io.k8s.api.core.v1.ModifyVolumeStatus": {
        "status": ["InProgress", "Infeasible", "Pending"],
    },
    "io.k8s.api.core.v1.NamespaceStatus": {
        "phase": ["Active", "Terminating"],
    },
    "io.k8s.api.core.v1.NodeSelectorRequirement": {
        "operator": ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"],
    },
    "io.k8s.api.core.v1.NodeStatus": {
        "phase": ["Pending", "Running", "Terminated"],
    },
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": {
        "accessModes[]": ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"],
        "volumeMode": ["Block", "Filesystem"],
    },
    "io.k8s.api.core.v1.PersistentVolumeClaimStatus": {
        "accessModes[]": ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"],
        "phase": ["Bound", "Lost", "Pending"],
    },
    "io.k8s.api.core.v1.PersistentVolumeSpec": {
        "accessModes[]": ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"],
        "persistentVolumeReclaimPolicy": ["Delete", "Recycle", "Retain"],
        "volumeMode": ["Block", "Filesystem"],
    },
    "io.k8s.api.core.v1.PersistentVolumeStatus": {
        "phase": ["Available", "Bound", "Failed", "Pending", "Released"],
    },
    "io.k8s.api.core.v1.PodSecurityContext": {
        "fsGroupChangePolicy": ["Always", "OnRootMismatch"],
        "supplementalGroupsPolicy": ["Merge", "Strict"],
    },
    "io.k8s.api.core.v1.PodSpec": {
        "dnsPolicy": ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
        "preemptionPolicy": ["Never", "PreemptLowerPriority"],
        "restartPolicy": ["Always", "Never", "OnFailure"],
    },
    "io.k8s.api.core.v1.PodStatus": {
        "phase": ["Failed", "Pending", "Running", "Succeeded", "Unknown"],
        "qosClass": ["BestEffort", "Burstable", "Guaranteed"],
    },
    "io.k8s.api.core.v1.PortStatus": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.core.v1.ResourceQuotaSpec": {
        "scopes[]": [
            "BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
            "Terminating", "VolumeAttributesClass",
        ],
    },
    "io.k8s.api.core.v1.ScopedResourceSelectorRequirement": {
        "operator": ["DoesNotExist", "Exists", "In", "NotIn"],
        "scopeName": [
            "BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
            "Terminating", "VolumeAttributesClass",
        ],
    },
    "io.k8s.api.core.v1.SeccompProfile": {
        "type": ["Localhost", "RuntimeDefault", "Unconfined"],
    },
    "io.k8s.api.core.v1.SecurityContext": {
        "procMount": ["Default", "Unmasked"],
    },
    "io.k8s.api.core.v1.ServicePort": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.core.v1.ServiceSpec": {
        "externalTrafficPolicy": ["Cluster", "Local"],
        "internalTrafficPolicy": ["Cluster", "Local"],
        "ipFamilies[]": ["", "IPv4", "IPv6"],
        "ipFamilyPolicy": ["PreferDualStack", "RequireDualStack", "SingleStack"],
        "sessionAffinity": ["ClientIP", "None"],
        "type": ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    },
    "io.k8s.api.core.v1.Taint": {
        "effect": ["NoExecute", "NoSchedule", "PreferNoSchedule"],
    },
    "io.k8s.api.core.v1.Toleration": {
        "effect": ["NoExecute", "NoSchedule", "PreferNoSchedule"],
        "operator": ["Equal", "Exists"],
    },
    "io.k8s.api.core.v1.TopologySpreadConstraint": {
        "nodeAffinityPolicy": ["Honor", "Ignore"],
        "nodeTaintsPolicy": ["Honor", "Ignore"],
        "whenUnsatisfiable": ["DoNotSchedule", "ScheduleAnyway"],
    },
    "io.k8s.api.core.v1.VolumeMount": {
        "mountPropagation": ["Bidirectional", "HostToContainer", "None"],
    },
    "io.k8s.api.discovery.v1.EndpointPort": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.discovery.v1.EndpointSlice": {
        "addressType": ["FQDN", "IPv4", "IPv6"],
    },
    "io.k8s.api.networking.v1.HTTPIngressPath": {
        "pathType": ["Exact", "ImplementationSpecific", "Prefix"],
    },
    "io.k8s.api.networking.v1.IngressPortStatus": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.networking.v1.NetworkPolicyPort": {
        "protocol": PROTOCOLS,
    },
    "io.k8s.api.networking.v1.NetworkPolicySpec": {
        "policyTypes[]": ["Egress", "Ingress"],
    },
    "io.k8s.api.policy.v1.PodDisruptionBudgetSpec": {
        "unhealthyPodEvictionPolicy": ["AlwaysAllow", "IfHealthyBudget"],
    },
    "io.k8s.api.scheduling.v1.PriorityClass": {
        "preemptionPolicy": ["Never", "PreemptLowerPriority"],
    },
    "io.k8s.api.storage.v1.StorageClass": {
        "reclaimPolicy": ["Delete", "Recycle", "Retain"],
        "volumeBindingMode": ["Immediate", "WaitForFirstConsumer"],
    },
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule": {
        "reason": ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"],
    },
}
