//! Kinetix (seed 000) end to end through `--profile kinetix`, every service in this process; the `agon` crate's
//! tests run the same journey with one process per service.

use agon_testkit::TestApp;

#[tokio::test]
async fn the_kinetix_app_and_backoffice_from_sign_up_to_logout() {
    let app = TestApp::spawn_profile("kinetix").await;
    agon_testkit::journeys::kinetix(&app.url).await;
}
