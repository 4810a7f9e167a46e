-- Argo CD health of a claim (or composite resource) mirrored by mcp-connector from a Crossplane control plane.
-- The verdict follows Crossplane's conditions, as Argo CD's own check for *.crossplane.io does, and adds the
-- connector's ControlPlaneSynced condition:
--   Degraded     Synced or LastAsyncOperation is False, or ControlPlaneSynced is False for a reason that needs
--                someone (a conflict, a refused push); an outage of the control plane is not one of them: after
--                --stale-period the copied Ready turns Unknown and the claim shows Progressing
--   Healthy      Ready is True
--   Progressing  anything else (Crossplane is still working, or nothing has come back yet)
-- Generated from the mcp-connector chart (files/argocd-health.lua); `mcp-connector argocd` prints the same script.
local waiting = {
  -- ControlPlaneSynced reasons that do not make a claim Degraded: the control plane cannot be asked now
  -- (the copy keeps its last known state), or the claim is being deleted.
  Synced = true,
  Ready = true,
  Starting = true,
  ControlPlaneUnreachable = true,
  NamespaceHeldByOtherCluster = true,
  NamespaceUnavailable = true,
  Forbidden = true,
  NamespaceDeleted = true,
  ClusterIDInUse = true,
  Deleting = true,
  RemoteDeleting = true,
}
local verdict = { status = "Progressing", message = "Waiting for the control plane" }
if obj.status == nil or obj.status.conditions == nil then
  return verdict
end
local ready = nil
for _, c in ipairs(obj.status.conditions) do
  if (c.type == "Synced" or c.type == "LastAsyncOperation") and c.status == "False" then
    return { status = "Degraded", message = c.type .. ": " .. (c.message or c.reason or "False") }
  end
  if c.type == "ControlPlaneSynced" and c.status == "False" and not waiting[c.reason or ""] then
    return { status = "Degraded", message = (c.reason or "ControlPlaneSynced") .. ": " .. (c.message or "") }
  end
  if c.type == "Ready" then
    ready = c
  end
end
if ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = "Ready" }
end
if ready ~= nil then
  verdict.message = "Ready is " .. (ready.status or "Unknown") .. ": " .. (ready.reason or "")
end
return verdict
