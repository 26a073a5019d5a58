//! The seeds' journeys through their profiles, every service in this process; the `agon` crate's tests run the
//! same journeys with one process per service.

use agon_testkit::TestApp;

#[tokio::test]
async fn the_kinetix_app_and_backoffice_from_sign_up_to_logout() {
    let app = TestApp::spawn_profile("kinetix").await;
    agon_testkit::journeys::kinetix(&app.url).await;
}

#[tokio::test]
async fn the_gym_it_frontend_from_a_trainer_s_tournament_to_its_champion() {
    let app = TestApp::spawn_profile("gymit").await;
    agon_testkit::journeys::gymit(&app.url).await;
}

#[tokio::test]
async fn the_api_gateway_clients_money_report_and_face_verification() {
    let app = TestApp::spawn_profile("apigw").await;
    agon_testkit::journeys::apigw(&app.url).await;
}

#[tokio::test]
async fn the_little_ecom_clients_item_from_sale_to_purchase() {
    let app = TestApp::spawn_profile("little-ecom").await;
    agon_testkit::journeys::little_ecom(&app.url).await;
}
