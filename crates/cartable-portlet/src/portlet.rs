use async_trait::async_trait;

use crate::{
    ActionRequest, ActionResponse, Descriptor, Event, PortletContext, PortletError, RenderResponse,
    ResourceRequest, ResourceResponse,
};

/// A portlet: one service shown in a window of the portal.
///
/// Object-safe: the portal holds `Arc<dyn Portlet>`. Only [`descriptor`](Portlet::descriptor)
/// and [`render`](Portlet::render) are required. The portal never trusts an
/// implementation: each call runs in its own task under a deadline, and an error, a panic
/// or a timeout only affects the portlet's own window.
#[async_trait]
pub trait Portlet: Send + Sync + 'static {
    /// What the portlet declares: id, title, modes, audience, preferences…
    fn descriptor(&self) -> &Descriptor;

    /// The service's relational schema, if it keeps tables (see
    /// [`ServiceSchema`](cartable_socle::ServiceSchema)): the portal applies its pending
    /// migrations at start, before serving, and the test kit before the first call.
    /// Several portlets of one service return the same schema (the portal runs it once).
    fn schema(&self) -> Option<cartable_socle::ServiceSchema> {
        None
    }

    /// The service's part of "Mes données", if its users' data can be exported and
    /// imported (see [`export`](crate::export)): `Some(self)` from a portlet that
    /// implements [`Portable`](crate::export::Portable). Several portlets of one service
    /// return the same service name (the portal calls it once).
    fn portable(&self) -> Option<&dyn crate::export::Portable> {
        None
    }

    /// The service's part of the ENT-wide search, if its documents can be found (see
    /// [`search`](crate::search)): `Some(self)` from a portlet that implements
    /// [`Searchable`](crate::search::Searchable). Several portlets of one service return
    /// the same service name (the portal asks once).
    fn searchable(&self) -> Option<&dyn crate::search::Searchable> {
        None
    }

    /// The service's part of the recipient picker, if it knows people, groups or
    /// contacts to address (see [`recipients`](crate::recipients)): `Some(self)` from a
    /// portlet that implements [`RecipientSource`](crate::recipients::RecipientSource).
    /// Several portlets of one service return the same source name (the portal asks once).
    fn recipients(&self) -> Option<&dyn crate::recipients::RecipientSource> {
        None
    }

    /// Produce the window's markup for the mode in `ctx.window().mode`.
    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError>;

    /// Handle a form posted to the window's action URL. May change preferences
    /// (`ctx.preferences.set`) and data, and emit events. The portal then redirects.
    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let _ = (ctx, request);
        Err(PortletError::NotFound("this portlet has no actions".into()))
    }

    /// Serve a resource (JSON, a file, a partial) for this window alone.
    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        let _ = ctx;
        Err(PortletError::NotFound(format!(
            "no resource {:?}",
            request.id
        )))
    }

    /// What the service serves at a secret URL without a session (a user's feed, her
    /// calendar for a client that cannot log in), if anything (see
    /// [`secret`](crate::secret)): `Some(self)` from a portlet that implements
    /// [`SecretResource`](crate::secret::SecretResource).
    fn secret(&self) -> Option<&dyn crate::secret::SecretResource> {
        None
    }

    /// The collections the service lets WebDAV clients synchronise (calendars over
    /// CalDAV, address books over CardDAV), if any (see [`dav`](crate::dav)):
    /// `Some(self)` from a portlet that implements [`DavService`](crate::dav::DavService).
    fn dav(&self) -> Option<&dyn crate::dav::DavService> {
        None
    }

    /// The events the service publishes into calendar views (the agenda's), if any (see
    /// [`calendar`](crate::calendar)): `Some(self)` from a portlet that implements
    /// [`CalendarSource`](crate::calendar::CalendarSource).
    fn calendar_source(&self) -> Option<&dyn crate::calendar::CalendarSource> {
        None
    }

    /// Work the service has done in the background once per period (reminders to send,
    /// what expired to close), if any (see [`periodic`](crate::periodic)): `Some(self)`
    /// from a portlet that implements [`Periodic`](crate::periodic::Periodic). The portal
    /// runs it as a periodic job of kind `<id>.periodic`, once per period across nodes.
    fn periodic(&self) -> Option<&dyn crate::periodic::Periodic> {
        None
    }

    /// React to an event emitted by another window's action; may emit more.
    async fn event(
        &self,
        ctx: &mut PortletContext,
        event: &Event,
    ) -> Result<Vec<Event>, PortletError> {
        let _ = (ctx, event);
        Ok(Vec::new())
    }
}
