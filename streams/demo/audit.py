"""Routine audit traffic: Okta sign-ins, the Kubernetes API server, GCP Cloud Audit Logs, Azure Activity.

Every employee signs in to Okta in the morning and signs on to SaaS apps; the EKS control plane, its
nodes, controllers, the Airflow worker, Argo CD and engineers' kubectl talk to the API server; data
scientists and an ETL job use GCP; the platform team changes the CI build agents in Azure. Besides, a
data scientist serves a model from Vertex AI and the platform team deploys gpt-4o in Azure OpenAI
(``cloud_ai_assets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.demo import records
from streams.demo.simulation import Simulation
from streams.demo.world import (
    AWS_ACCOUNT,
    AWS_USERS,
    AZURE_SUBSCRIPTION,
    CHROME_MAC,
    DATA_SCIENTISTS,
    EMPLOYEE_BY_LOGIN,
    EMPLOYEES,
    GCP_PROJECT,
    OFFICE_NAT_IP,
    Browser,
    Employee,
    Geo,
    stable_alnum,
)

# --- Okta --------------------------------------------------------------------------------------------

_OKTA_EVENT_TEXT = {
    "user.session.start": ("core.user_auth.login_success", "User login to Okta"),
    "user.authentication.auth_via_mfa": (
        "core.user.factor.attempt_success",
        "Authentication of user via MFA",
    ),
    "user.authentication.sso": ("app.auth.sso", "User single sign on to app"),
    "user.session.end": ("core.user_auth.logout_success", "User logout from Okta"),
}
_OKTA_APPS = (
    ("Slack", "0oa1slack7x2Y9kQ4d697"),
    ("Amazon Web Services", "0oa1aws5t3R8mV2n9697"),
    ("GitHub Enterprise Cloud", "0oa1gh8w4E6pL3s1x697"),
    ("Google Workspace", "0oa1gws2q9T5bN7c3697"),
    ("Salesforce", "0oa1sfdc6u1K8rJ4v697"),
    ("Atlassian Cloud", "0oa1atl3y7H2dF9g5697"),
)
_COMPANY_ISP = "globex fiber"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an Okta request comes from, as Okta records it."""

    ip: str
    geo: Geo
    browser: Browser = CHROME_MAC
    isp: str = _COMPANY_ISP


def okta(
    sim: Simulation,
    at_us: int,
    person: Employee,
    event_type: str,
    *,
    result: str = "SUCCESS",
    reason: str | None = None,
    origin: Origin | None = None,
    targets: list[dict] | None = None,
    label: str = "",
    proxied_from: str = "",
) -> None:
    """One Okta System Log event of ``person``, from their usual place unless ``origin`` says otherwise;
    ``proxied_from``: the internal address behind the office proxy (Okta's ``request.ipChain``)."""
    origin = origin or Origin(person.egress_ip, person.geo)
    legacy, message = _OKTA_EVENT_TEXT[event_type]
    if result != "SUCCESS" and event_type == "user.session.start":
        legacy = "core.user_auth.login_failed"
    event = records.okta_event(
        sim.rand,
        at_us,
        actor=records.okta_user_actor(person.okta_id, person.email, person.name),
        event_type=event_type,
        legacy_type=legacy,
        display_message=message,
        outcome={"result": result, "reason": reason},
        client_ip=origin.ip,
        geo=origin.geo,
        user_agent=origin.browser,
        targets=targets,
        severity="INFO" if result == "SUCCESS" else "WARN",
        as_org=origin.isp,
        session_id="102" + sim.rand.alnum(22),
        proxied_from=proxied_from,
    )
    sim.emit("audit", at_us, event, label)


def okta_verify(person: Employee) -> dict:
    """The target of an MFA event: the person's Okta Verify enrollment."""
    return {
        "id": "pfd1mfa" + person.okta_id[3:16],
        "type": "AuthenticatorEnrollment",
        "alternateId": "unknown",
        "displayName": "Okta Verify",
        "detailEntry": None,
    }


def okta_app(name: str) -> dict:
    """The target of an SSO event: one of the company's SAML apps."""
    app_id = dict(_OKTA_APPS)[name]
    return {
        "id": app_id,
        "type": "AppInstance",
        "alternateId": name,
        "displayName": name,
        "detailEntry": {"signOnModeType": "SAML_2_0"},
    }


# --- Kubernetes ----------------------------------------------------------------------------------------

_KUBECTL = "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"
_KUBELET = "kubelet/v1.30.4-eks-a737599 (linux/amd64) kubernetes/a737599"
KUBE_SCHEDULER_AGENT = "kube-scheduler/v1.30.5 (linux/amd64) kubernetes/26da4b5/scheduler"
_CONTROLLER = (
    "kube-controller-manager/v1.30.5 (linux/amd64) kubernetes/26da4b5/system:serviceaccount:kube-system:"
)
_AIRFLOW_CLIENT = "OpenAPI-Generator/30.1.0/python"
_AIRFLOW_IP = "10.244.2.31"
_NODES = ("ip-10-40-12-7.ec2.internal", "ip-10-40-13-22.ec2.internal", "ip-10-40-14-91.ec2.internal")
CONTROL_PLANE_IP = "10.40.0.85"
KUBE_SCHEDULER = {
    "username": "system:kube-scheduler",
    "uid": "kube-scheduler",
    "groups": ["system:authenticated"],
}
_KUBE_SCHEDULER_ALLOWED = (
    'RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole '
    '"system:kube-scheduler" to User "system:kube-scheduler"'
)
_AIRFLOW_WORKER = records.k8s_service_account(
    "ml-batch", "airflow-worker", "5d2e7f1a-9b3c-4d6e-8f0a-1b2c3d4e5f60"
)


def k8s(sim: Simulation, at_us: int, label: str = "", **fields: Any) -> None:
    """One Kubernetes audit event; ``fields`` are ``records.k8s_audit``'s."""
    sim.emit("audit", at_us, records.k8s_audit(sim.rand, at_us, **fields), label)


def lease_ref(namespace: str, name: str) -> dict:
    return {
        "resource": "leases",
        "namespace": namespace,
        "name": name,
        "apiGroup": "coordination.k8s.io",
        "apiVersion": "v1",
    }


def _pod_ref(namespace: str, name: str, subresource: str | None = None) -> dict:
    ref = {"resource": "pods", "namespace": namespace, "name": name, "apiVersion": "v1"}
    if subresource:
        ref["subresource"] = subresource
    return ref


def start_pod(
    sim: Simulation,
    at_us: int,
    creator: dict,
    creator_ip: str,
    agent: str,
    namespace: str,
    name: str,
    pod_ip: str,
    spec: dict | None,
    label: str = "",
    reason: str = "",
) -> None:
    """A pod's life in the audit log: created, bound to a node, its address reported by the kubelet."""
    rand = sim.rand
    node = rand.pick(_NODES)
    level = "RequestResponse" if spec is not None else "Metadata"
    pods = f"/api/v1/namespaces/{namespace}/pods"
    k8s(
        sim,
        at_us,
        label,
        user=creator,
        verb="create",
        request_uri=pods,
        source_ip=creator_ip,
        user_agent=agent,
        code=201,
        level=level,
        request_object=spec,
        reason=reason,
        object_ref=_pod_ref(namespace, name),
    )
    bound = at_us + rand.between(20_000, 900_000)
    k8s(
        sim,
        bound,
        label,
        user=KUBE_SCHEDULER,
        verb="create",
        request_uri=f"{pods}/{name}/binding",
        source_ip=CONTROL_PLANE_IP,
        user_agent=KUBE_SCHEDULER_AGENT,
        code=201,
        reason=_KUBE_SCHEDULER_ALLOWED,
        object_ref=_pod_ref(namespace, name, "binding"),
    )
    status = {
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "phase": "Running",
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
        }
    }
    ready = bound + rand.between(1_500_000, 9_000_000)
    k8s(
        sim,
        ready,
        label,
        user=_kubelet_user(node),
        verb="patch",
        request_uri=f"{pods}/{name}/status",
        source_ip=_node_ip(node),
        user_agent=_KUBELET,
        level="Request",
        request_object=status,
        object_ref=_pod_ref(namespace, name, "status"),
    )


def airflow_starts_pod(
    sim: Simulation,
    at_us: int,
    name: str,
    image: str,
    env: dict[str, str],
    pod_ip: str,
    *,
    secret_env: tuple[str, ...] = (),
    label: str = "",
) -> None:
    """The Airflow worker's service account launches a batch pod in ml-batch."""
    start_pod(
        sim,
        at_us,
        _AIRFLOW_WORKER,
        _AIRFLOW_IP,
        _AIRFLOW_CLIENT,
        "ml-batch",
        name,
        pod_ip,
        _pod_spec(name, image, env, secret_env),
        label=label,
        reason='RBAC: allowed by RoleBinding "airflow-pod-launcher/ml-batch"',
    )


def _kubelet_user(node: str) -> dict:
    # EKS nodes authenticate with the node group's IAM role; the uid names that role's id.
    return {
        "username": f"system:node:{node}",
        "uid": f"aws-iam-authenticator:{AWS_ACCOUNT}:AROA{stable_alnum('role/eks-node-group', 17).upper()}",
        "groups": ["system:nodes", "system:authenticated"],
    }


def _node_ip(node: str) -> str:
    return node.removeprefix("ip-").removesuffix(".ec2.internal").replace("-", ".")


def _pod_spec(name: str, image: str, env: dict[str, str], secret_env: tuple[str, ...]) -> dict:
    variables: list[dict] = [{"name": key, "value": value} for key, value in env.items()]
    variables += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": "llm-credentials", "key": key.lower()}}}
        for key in secret_env
    ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "ml-batch",
            "labels": {"airflow-worker": "airflow-worker-0", "dag_id": name.rsplit("-", 1)[0]},
        },
        "spec": {
            "containers": [
                {
                    "name": "base",
                    "image": f"{AWS_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{image}",
                    "env": variables,
                    "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                }
            ],
            "restartPolicy": "Never",
            "serviceAccountName": "batch-jobs",
        },
    }


# --- GCP -----------------------------------------------------------------------------------------------

GCP_ETL_ACCOUNT = f"etl-runner@{GCP_PROJECT}.iam.gserviceaccount.com"
GCP_ETL_IP = "35.203.14.77"


# --- routine traffic -----------------------------------------------------------------------------------


def routine_traffic(sim: Simulation) -> None:
    _okta(sim)
    _kubernetes(sim)
    _gcp(sim)
    _azure(sim)


def _okta(sim: Simulation) -> None:
    rand = sim.rand
    for person in EMPLOYEES:
        login = sim.start_us + rand.between(0, 40 * 60_000_000)
        okta(sim, login, person, "user.session.start")
        okta(
            sim,
            login + rand.between(3_000_000, 25_000_000),
            person,
            "user.authentication.auth_via_mfa",
            targets=[okta_verify(person)],
        )
    for _ in range(sim.count(120)):
        person = rand.pick(EMPLOYEES)
        app_name, _ = rand.pick(_OKTA_APPS)
        okta(sim, sim.anytime(), person, "user.authentication.sso", targets=[okta_app(app_name)])
    for _ in range(sim.count(10)):
        okta(sim, sim.anytime(), rand.pick(EMPLOYEES), "user.session.end")
    # A mistyped password now and then, from the usual place: a negative for the takeover rule.
    for login in ("kofi.mensah", "amira.saleh"):
        person = EMPLOYEE_BY_LOGIN[login]
        at = sim.start_us + rand.between(0, 30 * 60_000_000)
        okta(sim, at, person, "user.session.start", result="FAILURE", reason="INVALID_CREDENTIALS")
        okta(sim, at + rand.between(10_000_000, 40_000_000), person, "user.session.start")


_ORDERS_API_DEPLOYMENT = {
    "resource": "deployments",
    "namespace": "orders",
    "name": "orders-api",
    "apiGroup": "apps",
    "apiVersion": "v1",
}


def _kubernetes(sim: Simulation) -> None:
    rand = sim.rand
    for _ in range(sim.count(100)):
        k8s(
            sim,
            sim.anytime(),
            user=KUBE_SCHEDULER,
            verb=rand.pick(("get", "update")),
            request_uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=5s",
            source_ip=CONTROL_PLANE_IP,
            user_agent=KUBE_SCHEDULER_AGENT + "/leader-election",
            reason=_KUBE_SCHEDULER_ALLOWED,
            object_ref=lease_ref("kube-system", "kube-scheduler"),
        )
    for _ in range(sim.count(40)):
        node = rand.pick(_NODES)
        k8s(
            sim,
            sim.anytime(),
            user=_kubelet_user(node),
            verb="update",
            request_uri=f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s",
            source_ip=_node_ip(node),
            user_agent=_KUBELET,
            object_ref=lease_ref("kube-node-lease", node),
        )
    replicaset = records.k8s_service_account(
        "kube-system", "replicaset-controller", "3b8f6a1e-2c4d-4e5f-9a0b-7c8d9e0f1a2b"
    )
    for _ in range(sim.count(10)):
        name = f"orders-api-6d5f9c7b8-{rand.text('bcdfghjklmnpqrstvwxz2456789', 5)}"
        pod_ip = f"10.244.{rand.pick((1, 2))}.{rand.between(2, 250)}"
        start_pod(
            sim,
            sim.anytime(),
            replicaset,
            CONTROL_PLANE_IP,
            _CONTROLLER + "replicaset-controller",
            "orders",
            name,
            pod_ip,
            None,
            reason='RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller"',
        )
    # The Airflow worker's ordinary ETL pods call nothing outside: negatives beside the incident's pod.
    for _ in range(sim.count(6)):
        name = f"etl-daily-orders-{rand.text('abcdefghijklmnopqrstuvwxyz0123456789', 8)}"
        pod_ip = f"10.244.{rand.pick((1, 2))}.{rand.between(2, 250)}"
        airflow_starts_pod(
            sim, sim.anytime(), name, "etl-orders:2.7.0", {"TARGET_TABLE": "analytics.orders"}, pod_ip
        )
    for _ in range(sim.count(50)):
        person = rand.pick(
            tuple(p for p in AWS_USERS if p.permission_set in ("PowerUserAccess", "AdministratorAccess"))
        )
        role = records.sso_role_name(person.permission_set)
        user = {
            "username": f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{person.email}",
            "uid": f"aws-iam-authenticator:{AWS_ACCOUNT}:AROA{person.okta_id[3:18].upper()}",
            "groups": ["system:authenticated", "eks-developers"],
        }
        verb, uri, ref = rand.pick(
            (
                (
                    "list",
                    "/api/v1/namespaces/orders/pods?limit=500",
                    {"resource": "pods", "namespace": "orders", "apiVersion": "v1"},
                ),
                ("get", "/apis/apps/v1/namespaces/orders/deployments/orders-api", _ORDERS_API_DEPLOYMENT),
                (
                    "list",
                    "/api/v1/namespaces/orders/events?limit=500",
                    {"resource": "events", "namespace": "orders", "apiVersion": "v1"},
                ),
            )
        )
        k8s(
            sim,
            sim.anytime(),
            user=user,
            verb=verb,
            request_uri=uri,
            source_ip=person.egress_ip,
            user_agent=_KUBECTL,
            object_ref=ref,
            reason='RBAC: allowed by ClusterRoleBinding "eks-developers-view"',
        )
    argocd = records.k8s_service_account(
        "argocd", "argocd-application-controller", "7e9a1c3b-5d2f-4a6e-8b0c-2d4f6a8c0e1b"
    )
    for _ in range(sim.count(10)):
        k8s(
            sim,
            sim.anytime(),
            user=argocd,
            verb="patch",
            request_uri="/apis/apps/v1/namespaces/orders/deployments/orders-api?fieldManager=argocd-controller",
            source_ip="10.244.2.17",
            user_agent="argocd-application-controller/v2.13.1+af54ef8",
            object_ref=_ORDERS_API_DEPLOYMENT,
            reason='RBAC: allowed by ClusterRoleBinding "argocd-application-controller"',
        )


def _gcp(sim: Simulation) -> None:
    rand = sim.rand
    browser = CHROME_MAC.user_agent + ",gzip(gfe)"
    for _ in range(sim.count(80)):
        at = sim.anytime()
        kind = rand.between(0, 10)
        if kind < 4:
            person = rand.pick(DATA_SCIENTISTS)
            job = f"projects/{GCP_PROJECT}/jobs/bquxjob_{rand.hex(8)}_{rand.hex(11)}"
            entry = records.gcp_audit(
                rand,
                at,
                principal=person.email,
                caller_ip=OFFICE_NAT_IP,
                user_agent=browser,
                service="bigquery.googleapis.com",
                method="google.cloud.bigquery.v2.JobService.InsertJob",
                resource_name=job,
                resource_type="bigquery_project",
                labels={"location": "US"},
                permission="bigquery.jobs.create",
                data_access=True,
            )
        elif kind < 8:
            name = rand.pick(("storage.objects.get", "storage.objects.create"))
            obj = f"exports/events-{rand.between(0, 999):03d}.avro"
            entry = records.gcp_audit(
                rand,
                at,
                principal=GCP_ETL_ACCOUNT,
                caller_ip=GCP_ETL_IP,
                user_agent="apache-beam/2.60.0 gcloud-java/2.44.1 (gzip),gzip(gfe)",
                service="storage.googleapis.com",
                method=name,
                resource_name=f"projects/_/buckets/globex-analytics-exports/objects/{obj}",
                resource_type="gcs_bucket",
                labels={"bucket_name": "globex-analytics-exports", "location": "us"},
                permission=name,
                data_access=True,
            )
        else:
            person = rand.pick(tuple(p for p in EMPLOYEES if p.group == "platform"))
            instance = f"analytics-worker-{rand.between(1, 6)}"
            method = rand.pick(
                ("v1.compute.instances.start", "v1.compute.instances.stop", "v1.compute.instances.setLabels")
            )
            entry = records.gcp_audit(
                rand,
                at,
                principal=person.email,
                caller_ip=person.egress_ip,
                user_agent="google-cloud-sdk gcloud/502.0.0 command/gcloud.compute.instances,gzip(gfe)",
                service="compute.googleapis.com",
                method=method,
                resource_name=f"projects/{GCP_PROJECT}/zones/us-central1-a/instances/{instance}",
                resource_type="gce_instance",
                labels={"zone": "us-central1-a", "instance_id": str(rand.between(10**18, 10**19))},
                permission="compute.instances." + method.rsplit(".", 1)[1],
            )
        sim.emit("audit", at, entry)


def _azure(sim: Simulation) -> None:
    rand = sim.rand
    operations = (
        ("Microsoft.Compute/virtualMachines/start/action", "virtualMachines/build-agent-{n}"),
        ("Microsoft.Compute/virtualMachines/deallocate/action", "virtualMachines/build-agent-{n}"),
        ("Microsoft.Resources/deployments/write", "deployments/release-{n}"),
        ("Microsoft.Network/networkSecurityGroups/write", "networkSecurityGroups/build-agents-nsg"),
    )
    platform = tuple(p for p in EMPLOYEES if p.group == "platform")
    for _ in range(sim.count(35)):
        operation, resource = rand.pick(operations)
        provider = operation.split("/", 1)[0]
        resource_id = (
            f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/ci-build/providers/{provider}/"
            f"{resource.format(n=rand.between(1, 9))}"
        )
        person = rand.pick(platform)
        correlation = rand.uuid4()
        object_id = rand.uuid4()
        at = sim.anytime()
        for result, moment in (("Start", at), ("Success", at + rand.between(2_000_000, 90_000_000))):
            record = records.azure_activity(
                rand,
                moment,
                resource_id=resource_id,
                operation=operation,
                result_type=result,
                caller=person.email,
                caller_ip=person.egress_ip,
                correlation_id=correlation,
                location="eastus",
                status_code="200",
                object_id=object_id,
                role="Contributor",
            )
            sim.emit("audit", moment, record)


# --- AI assets in GCP and Azure ------------------------------------------------------------------------

_GCP_PROJECT_NUMBER = "482910375561"
_VERTEX = "google.cloud.aiplatform.v1"
_COGNITIVE = "Microsoft.CognitiveServices"


def cloud_ai_assets(sim: Simulation) -> None:
    """A data scientist serves the churn model from a Vertex AI endpoint; the platform team gives the
    support bot an Azure OpenAI account and a gpt-4o deployment: the GCP and Azure nodes of the asset
    graph. Added after the rest, from a random source of its own (``Simulation.branch``)."""
    rand = sim.rand
    scientist = DATA_SCIENTISTS[0]
    parent = f"projects/{GCP_PROJECT}/locations/us-central1"
    model_id, endpoint_id = str(rand.between(10**18, 10**19)), str(rand.between(10**18, 10**19))
    endpoint = f"{parent}/endpoints/{endpoint_id}"

    def operation(resource: str) -> dict:
        # A long-running operation names the project by number.
        return {"@type": "type.googleapis.com/google.longrunning.Operation",
                "name": f"projects/{_GCP_PROJECT_NUMBER}/locations/us-central1/{resource}/operations/"
                        f"{rand.between(10**18, 10**19)}"}

    calls = (
        ("ModelService.UploadModel", parent, "aiplatform.models.upload",
         {"parent": parent, "model": {"displayName": "churn-xgb", "artifactUri": "gs://globex-models/churn/7",
                                      "containerSpec": {"imageUri": "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest"}}},
         operation(f"models/{model_id}")),
        ("EndpointService.CreateEndpoint", parent, "aiplatform.endpoints.create",
         {"parent": parent, "endpoint": {"displayName": "churn-online"}}, operation(f"endpoints/{endpoint_id}")),
        ("EndpointService.DeployModel", endpoint, "aiplatform.endpoints.deploy",
         {"endpoint": endpoint, "deployedModel": {"model": f"{parent}/models/{model_id}", "displayName": "churn-xgb",
                                                  "dedicatedResources": {"machineSpec": {"machineType": "n1-standard-4"},
                                                                         "minReplicaCount": 1}}},
         operation(f"endpoints/{endpoint_id}")),
    )
    at = sim.at_minute(9)
    for method, resource, permission, request, response in calls:
        at += rand.between(40_000_000, 240_000_000)
        entry = records.gcp_audit(
            rand, at, principal=scientist.email, caller_ip=OFFICE_NAT_IP,
            user_agent="google-cloud-sdk gcloud/502.0.0 command/gcloud.ai,gzip(gfe)",
            service="aiplatform.googleapis.com", method=f"{_VERTEX}.{method}", resource_name=resource,
            resource_type="audited_resource",
            labels={"service": "aiplatform.googleapis.com", "method": f"{_VERTEX}.{method}"},
            permission=permission, request={"@type": f"type.googleapis.com/{_VERTEX}.{method.split('.')[1]}Request",
                                            **request},
            response=response,
        )
        sim.emit("audit", at, entry)

    admin = next(p for p in EMPLOYEES if p.group == "platform")
    account = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/support-bot/providers/{_COGNITIVE}/accounts/globex-support-openai"
    writes = (
        (f"{_COGNITIVE}/accounts/write", account,
         {"kind": "OpenAI", "location": "eastus", "sku": {"name": "S0"},
          "properties": {"customSubDomainName": "globex-support-openai", "publicNetworkAccess": "Enabled"}}),
        (f"{_COGNITIVE}/accounts/deployments/write", f"{account}/deployments/support-gpt-4o",
         {"sku": {"name": "Standard", "capacity": 20},
          "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"}}}),
    )
    at = sim.at_minute(21)
    for operation_name, resource_id, body in writes:
        correlation, object_id = rand.uuid4(), rand.uuid4()
        at += rand.between(30_000_000, 120_000_000)
        for result, moment in (("Start", at), ("Success", at + rand.between(5_000_000, 60_000_000))):
            record = records.azure_activity(
                rand, moment, resource_id=resource_id, operation=operation_name, result_type=result,
                caller=admin.email, caller_ip=admin.egress_ip, correlation_id=correlation, location="eastus",
                status_code="201", object_id=object_id, role="Cognitive Services Contributor",
                request_body=body if result == "Start" else None,
                response_body=body if result == "Success" else None,
            )
            sim.emit("audit", moment, record)
